import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Slack's request signature (v0), as Slack documents it: `X-Slack-Signature` is `v0=` and the hex
 * HMAC-SHA256, keyed with the app's signing secret, of `v0:<X-Slack-Request-Timestamp>:<raw body>`.
 * The timestamp must be within five minutes of Gatehouse's clock, in either direction, so a captured
 * request cannot be replayed later (within the window the channel remembers what it processed).
 * Compared in constant time. Pure, apart from the clock passed in.
 */

/** Signed timestamps are accepted this far from the clock, either way (Slack's recommendation). */
export const SIGNATURE_TOLERANCE_MS = 5 * 60_000;

export type SignatureCheck = { ok: true; timestampMs: number } | { ok: false; reason: string };

export function verifySlackSignature(
  signingSecret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  rawBody: Buffer,
  nowMs: number,
): SignatureCheck {
  const { timestamp, signature } = headers;
  if (timestamp === undefined || signature === undefined) {
    return { ok: false, reason: 'no X-Slack-Signature or X-Slack-Request-Timestamp header' };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: 'X-Slack-Request-Timestamp is not a Unix time in seconds' };
  }
  const timestampMs = Number(timestamp) * 1000;
  if (Math.abs(nowMs - timestampMs) > SIGNATURE_TOLERANCE_MS) {
    return {
      ok: false,
      reason: `X-Slack-Request-Timestamp is ${Math.round((timestampMs - nowMs) / 1000)} s from Gatehouse's clock (at most 300 s either way)`,
    };
  }
  const match = /^v0=([0-9a-fA-F]{64})$/.exec(signature);
  if (!match) return { ok: false, reason: 'X-Slack-Signature is not a v0 signature' };
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'))) {
    return { ok: false, reason: "the signature does not match the body with the app's signing secret" };
  }
  return { ok: true, timestampMs };
}
