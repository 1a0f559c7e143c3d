import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../src/approvals/channels/webhook/channel.js';
import { scratchDir } from '../helpers/config.js';
import { BOB, CAROL, expectPending, gatedGatehouse, reaches } from '../helpers/gated.js';
import {
  newWebhookSecret,
  sendDecision,
  startWebhookReceiver,
  type ReceivedEvent,
} from '../helpers/webhookReceiver.js';

/**
 * Signed webhooks end to end: a real MCP client's gated call is announced to receivers on 127.0.0.1
 * that verify every event with the Standard Webhooks reference library; a receiver decides through the
 * event's callback token, once; forged, stale, replayed and misdirected callbacks change nothing.
 */

const scratch = scratchDir('channels-webhook');
// Two secrets on `hooks`, as while rotating: every event is signed with both.
const hooks = await startWebhookReceiver([newWebhookSecret(), newWebhookSecret()]);
// `limited` may decide as bob only.
const limited = await startWebhookReceiver();
afterAll(async () => {
  await hooks.close();
  await limited.close();
});

const gated = gatedGatehouse(scratch, 'webhook', {
  approvals: {
    store: path.join(scratch.dir, 'webhook-store.json'),
    sweepIntervalMs: 100,
    channels: {
      hooks: { type: 'webhook', url: hooks.url, secrets: hooks.secrets },
      limited: { type: 'webhook', url: limited.url, secrets: limited.secrets, approvers: ['bob'] },
    },
    defaultChannels: ['page', 'hooks', 'limited'],
    delivery: { initialBackoffMs: 50, maxBackoffMs: 200 },
  },
});

const ofRequest = (approvalId: string, type: WebhookEvent['type']) => (event: ReceivedEvent) =>
  event.body.type === type && event.body.data.approval.id === approvalId;

/** alice's gated write, and its announce as `receiver` got it. */
async function announced(file: string, receiver = hooks) {
  const { approvalId } = expectPending(await gated.writeFile(file, 'quarterly numbers'), 'fs-write', true);
  const event = await receiver.waitFor(
    ofRequest(approvalId, 'approval.requested'),
    `the announce of ${file}`,
  );
  return { approvalId, event, callback: event.body.data.callback! };
}

describe('signed webhooks', () => {
  it('announce a gated call, signed with every secret, with the summary and a callback', async () => {
    const { approvalId, event, callback } = await announced('announce.txt');
    expect(event.id).toBe(`${approvalId}/hooks/requested`);
    expect(event.verifiedWith).toEqual([true, true]);
    expect(event.signature.split(' ')).toHaveLength(2);
    const { approval } = event.body.data;
    expect(approval).toMatchObject({
      url: `${gated.url}/approvals/${approvalId}`,
      server: 'fs',
      tool: 'write_file',
      rules: ['fs-write'],
      reason: 'writing files needs a second pair of eyes',
      requester: { id: 'alice', groups: ['dev'] },
      state: 'pending',
      quorum: 1,
    });
    expect(approval.argumentsLine).toContain('content: "quarterly numbers"');
    expect(approval.arguments.digest).toMatch(/^hmac-sha256:/);
    expect(callback).toEqual({
      method: 'POST',
      url: `${gated.url}/api/approvals/${approvalId}/decision`,
      token: expect.stringMatching(/^gh_cb_/),
      expiresAt: approval.expiresAt,
    });
    // The token is kept only as its hash.
    const { readFile } = await import('node:fs/promises');
    const stored = await readFile(gated.setUp.store, 'utf8');
    expect(stored).not.toContain(callback.token);
    expect(stored).toContain(`"approvalId": "${approvalId}"`);
  });

  it('take a decision through the callback token once: the call runs, and everyone hears of it', async () => {
    const { approvalId, callback } = await announced('decided.txt');
    const body = { decision: 'approve', approver: { id: 'bob' }, token: callback.token };
    // Signed with the second secret: during a rotation either verifies.
    const first = await sendDecision(callback.url, hooks.secrets[1]!, body, { id: 'decision-1' });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ approval: { id: approvalId, state: 'approved', approvals: 1, quorum: 1 } });
    const executed = await reaches(gated.approvals, approvalId, 'executed');
    expect(executed.decisions).toEqual([
      expect.objectContaining({ approver: BOB, decision: 'approve', channel: 'hooks' }),
    ]);
    expect(existsSync(path.join(gated.setUp.files, 'decided.txt'))).toBe(true);

    const decided = await hooks.waitFor(ofRequest(approvalId, 'approval.decided'), 'approval.decided');
    expect(decided.body.data.decision).toMatchObject({ by: 'bob', verdict: 'approve', channel: 'hooks' });
    expect(decided.body.data.callback).toBeUndefined();
    const ran = await hooks.waitFor(ofRequest(approvalId, 'call.executed'), 'call.executed');
    expect(ran.body.data.approval).toMatchObject({ state: 'executed', outcome: { kind: 'executed' } });
    // In order: announce, decision, outcome.
    const order = hooks.received
      .filter((e) => e.body.data.approval.id === approvalId)
      .map((e) => e.body.type);
    expect(order).toEqual(['approval.requested', 'approval.decided', 'call.executed']);

    // The same token again, in a new message: used.
    const again = await sendDecision(callback.url, hooks.secrets[0]!, body);
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'CALLBACK_TOKEN_INVALID' });
    // The very same message again: a replay.
    const replay = await sendDecision(callback.url, hooks.secrets[1]!, body, { id: 'decision-1' });
    expect(replay.status).toBe(409);
    expect(replay.json.error).toMatchObject({ code: 'WEBHOOK_REPLAYED' });
  });

  it('refuse forged and stale signatures, the requester, unlisted and unknown approvers, changing nothing', async () => {
    const { approvalId, callback } = await announced('refused.txt');
    const decide = (id: string, secret = hooks.secrets[0]!, at?: Date) =>
      sendDecision(
        callback.url,
        secret,
        { decision: 'approve', approver: { id }, token: callback.token },
        at ? { at } : {},
      );
    const refusals = [
      [await decide('bob', newWebhookSecret()), 401, 'WEBHOOK_SIGNATURE_INVALID'],
      [
        await decide('bob', hooks.secrets[0], new Date(Date.now() - 6 * 60_000)),
        401,
        'WEBHOOK_SIGNATURE_INVALID',
      ],
      [await decide('alice'), 403, 'APPROVER_IS_REQUESTER'],
      [await decide('dave'), 403, 'APPROVER_NOT_LISTED'],
      [await decide('mallory'), 403, 'APPROVER_UNKNOWN'],
    ] as const;
    for (const [response, status, code] of refusals) {
      expect({ status: response.status, code: response.json.error?.code }).toEqual({ status, code });
      expect(response.text).not.toMatch(/\n\s+at /);
    }
    const unsigned = await fetch(callback.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-signature': 'v1,AAAA' },
      body: JSON.stringify({ decision: 'approve', approver: { id: 'bob' }, token: callback.token }),
    });
    expect(unsigned.status).toBe(401);
    expect((await gated.approvals.get(approvalId))!).toMatchObject({ state: 'pending', decisions: [] });
    // Nothing was written, so the token still carries its one decision.
    const ok = await decide('carol');
    expect(ok.status).toBe(200);
    await reaches(gated.approvals, approvalId, 'executed');
    expect((await gated.approvals.get(approvalId))!.decisions).toEqual([
      expect.objectContaining({ approver: CAROL, channel: 'hooks' }),
    ]);
  });

  it('limit a receiver to the approvers it may speak for, and a token to its own request and channel', async () => {
    const { approvalId, callback } = await announced('limited.txt', limited);
    const other = await announced('other.txt');
    const as = (id: string, token = callback.token, url = callback.url) =>
      sendDecision(url, limited.secrets[0]!, { decision: 'approve', approver: { id }, token });
    const carol = await as('carol');
    expect([carol.status, carol.json.error?.code]).toEqual([403, 'APPROVER_NOT_ALLOWED']);
    // hooks' token, on limited's signature: not this channel's.
    const foreign = await as('bob', other.callback.token, other.callback.url);
    expect([foreign.status, foreign.json.error?.code]).toEqual([403, 'CALLBACK_TOKEN_INVALID']);
    // limited's token sent for another request.
    const elsewhere = await as('bob', callback.token, other.callback.url);
    expect([elsewhere.status, elsewhere.json.error?.code]).toEqual([403, 'CALLBACK_TOKEN_INVALID']);
    expect((await gated.approvals.get(other.approvalId))!.decisions).toEqual([]);
    const bob = await as('bob');
    expect(bob.status).toBe(200);
    await reaches(gated.approvals, approvalId, 'executed');
  });

  it('refuse a token that expired with its request', async () => {
    const result = await gated.call('rec__wipe');
    const { approvalId } = expectPending(result, 'wipe-decide-fast');
    const event = await hooks.waitFor(ofRequest(approvalId, 'approval.requested'), 'the wipe announce');
    await reaches(gated.approvals, approvalId, 'expired');
    await hooks.waitFor(ofRequest(approvalId, 'approval.expired'), 'approval.expired');
    const { callback } = event.body.data;
    const late = await sendDecision(callback!.url, hooks.secrets[0]!, {
      decision: 'approve',
      approver: { id: 'bob' },
      token: callback!.token,
    });
    expect([late.status, late.json.error?.code]).toEqual([410, 'CALLBACK_TOKEN_INVALID']);
  });

  it('count a decision through a webhook and one through the API towards one quorum', async () => {
    const result = await gated.call('rec__remove', { path: '/srv/old' });
    const { approvalId } = expectPending(result, 'remove-needs-two');
    const event = await hooks.waitFor(ofRequest(approvalId, 'approval.requested'), 'the remove announce');
    const viaHook = await sendDecision(event.body.data.callback!.url, hooks.secrets[0]!, {
      decision: 'approve',
      approver: { id: 'bob' },
      token: event.body.data.callback!.token,
    });
    expect(viaHook.json.approval).toMatchObject({ state: 'pending', approvals: 1, quorum: 2 });
    // The decision's update carries a fresh token for the next approver; carol uses the page's API.
    const update = await hooks.waitFor(ofRequest(approvalId, 'approval.decided'), 'the decision update');
    expect(update.body.data.callback?.token).toMatch(/^gh_cb_/);
    expect(update.body.data.callback?.token).not.toBe(event.body.data.callback!.token);
    const carol = await gated.api.as(CAROL);
    expect((await carol.decide(approvalId, 'approve')).status).toBe(200);
    const done = await reaches(gated.approvals, approvalId, 'executed');
    expect(done.decisions.map((d) => [d.approver.id, d.channel])).toEqual([
      ['bob', 'hooks'],
      ['carol', 'api'],
    ]);
  });

  it("leave the bearer-token API alone: a callback without a signature is the API's", async () => {
    const { callback } = await announced('api.txt');
    const response = await fetch(callback.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('never send an acknowledged event twice, and verify with the reference library every time', () => {
    for (const [id, count] of hooks.acknowledged()) expect(count, id).toBe(1);
    expect(hooks.received.every((e) => e.verifiedWith.every(Boolean))).toBe(true);
  });

  it('keep secrets and callback tokens out of the log and the store', async () => {
    const tokens = [...hooks.received, ...limited.received].flatMap((e) => e.body.data.callback?.token ?? []);
    expect(tokens.length).toBeGreaterThan(5);
    const { readFile } = await import('node:fs/promises');
    const log = await readFile(gated.setUp.logFile, 'utf8');
    expect(log).toContain('"msg":"delivered"');
    const store = await readFile(gated.setUp.store, 'utf8');
    for (const secret of [...tokens, ...hooks.secrets, ...limited.secrets]) {
      expect(log).not.toContain(secret);
      expect(store).not.toContain(secret);
    }
  });
});
