import { describe, expect, it } from 'vitest';
import { SIGNING_SECRET, signedInteraction } from '../../../../test/helpers/slack.js';
import { verifySlackSignature } from './signature.js';

/** Signatures made by the test helper from Slack's documentation, checked by Gatehouse's verifier. */
const NOW = 1_764_518_400_000;
const at = (offsetSeconds: number) => Math.floor(NOW / 1000) + offsetSeconds;

function check(
  options: Parameters<typeof signedInteraction>[1] = {},
  change: (h: Record<string, string>) => void = () => {},
) {
  const { headers, body } = signedInteraction({ type: 'block_actions' }, { at: at(0), ...options });
  change(headers);
  return verifySlackSignature(
    SIGNING_SECRET,
    { timestamp: headers['x-slack-request-timestamp'], signature: headers['x-slack-signature'] },
    Buffer.from(body),
    NOW,
  );
}

describe("Slack's v0 request signature", () => {
  it('accepts a body signed with the signing secret, up to five minutes either way', () => {
    expect(check()).toEqual({ ok: true, timestampMs: at(0) * 1000 });
    expect(check({ at: at(-300) }).ok).toBe(true);
    expect(check({ at: at(300) }).ok).toBe(true);
  });

  it('refuses a stale or a future timestamp, whatever the signature', () => {
    expect(check({ at: at(-301) })).toEqual({ ok: false, reason: expect.stringContaining('-301 s from') });
    expect(check({ at: at(301) })).toEqual({ ok: false, reason: expect.stringContaining('301 s from') });
  });

  it('refuses another secret, a changed body, a changed timestamp, and malformed headers', () => {
    const mismatch = {
      ok: false,
      reason: "the signature does not match the body with the app's signing secret",
    };
    expect(check({ secret: 'a-different-signing-secret-value' })).toEqual(mismatch);
    const { headers } = signedInteraction({ type: 'block_actions' }, { at: at(0) });
    const tampered = verifySlackSignature(
      SIGNING_SECRET,
      { timestamp: headers['x-slack-request-timestamp'], signature: headers['x-slack-signature'] },
      Buffer.from('payload=%7B%22type%22%3A%22view_submission%22%7D'),
      NOW,
    );
    expect(tampered).toEqual(mismatch);
    expect(check({}, (h) => (h['x-slack-request-timestamp'] = String(at(1))))).toEqual(mismatch);
    expect(
      check({}, (h) => (h['x-slack-signature'] = h['x-slack-signature']!.replace('v0=', 'v1='))),
    ).toMatchObject({
      ok: false,
      reason: 'X-Slack-Signature is not a v0 signature',
    });
    expect(check({}, (h) => (h['x-slack-request-timestamp'] = '1e9'))).toMatchObject({ ok: false });
    expect(check({}, (h) => delete h['x-slack-signature'])).toMatchObject({ ok: false });
  });
});
