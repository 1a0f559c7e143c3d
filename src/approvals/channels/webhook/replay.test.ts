import { describe, expect, it } from 'vitest';
import { createReplayGuard, TOLERANCE_MS } from './replay.js';
import { hashCallbackToken, looksLikeCallbackToken, newCallbackToken } from './tokens.js';

describe('the replay guard', () => {
  it('refuses an id seen within the window, and forgets it once its timestamp is out of the window', () => {
    const guard = createReplayGuard(10);
    expect(guard.remember('msg_1', 1_000, 1_000)).toBe('fresh');
    expect(guard.remember('msg_1', 1_000, 2_000)).toBe('replayed');
    expect(guard.remember('msg_2', 1_000, 2_000)).toBe('fresh');
    // Past the window (and a minute's slack) the timestamp check refuses it anyway.
    expect(guard.remember('msg_1', 1_000, 1_000 + TOLERANCE_MS + 60_000)).toBe('fresh');
  });

  it('refuses new ids when full of ids still in the window, rather than forget one early', () => {
    const guard = createReplayGuard(2);
    expect(guard.remember('a', 0, 0)).toBe('fresh');
    expect(guard.remember('b', 0, 0)).toBe('fresh');
    expect(guard.remember('c', 0, 1_000)).toBe('full');
    expect(guard.remember('a', 0, 1_000)).toBe('replayed');
    // Once the old ones age out there is room again.
    expect(guard.remember('c', 0, TOLERANCE_MS + 60_000)).toBe('fresh');
  });
});

describe('callback tokens', () => {
  it('are random, recognisable, and kept only as a SHA-256', () => {
    const token = newCallbackToken();
    expect(looksLikeCallbackToken(token)).toBe(true);
    expect(newCallbackToken()).not.toBe(token);
    expect(hashCallbackToken(token)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashCallbackToken(token)).not.toContain(token.slice(6));
    expect(looksLikeCallbackToken('gh_cb_short')).toBe(false);
  });
});
