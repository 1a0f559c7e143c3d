import { describe, expect, it } from 'vitest';
import { inFlightIds } from './inFlight.js';

const cancel = (requestId: string | number) => ({
  jsonrpc: '2.0' as const,
  method: 'notifications/cancelled',
  params: { requestId },
});
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('request ids in flight', () => {
  it('holds an id from its claim to its answer', () => {
    const ids = inFlightIds();
    expect(ids.claim(1)).toBe(true);
    expect(ids.claim(1)).toBe(false);
    // Ids are compared as JSON-RPC does: the number 1 and the string "1" are two ids.
    expect(ids.claim('1')).toBe(true);
    ids.answered(1);
    expect(ids.claim(1)).toBe(true);
  });

  it('frees a cancelled request’s id only after the Protocol has seen the cancellation', async () => {
    const ids = inFlightIds();
    ids.claim(7);
    ids.observe(cancel(7));
    expect(ids.claim(7)).toBe(false);
    await turn();
    expect(ids.claim(7)).toBe(true);
  });

  it('a freeing scheduled for a cancelled request never frees a later request with its id', async () => {
    const ids = inFlightIds();
    ids.claim(7);
    ids.observe(cancel(7));
    // The cancelled request answered after all, and a new one took the id before the freeing ran.
    ids.answered(7);
    ids.claim(7);
    await turn();
    expect(ids.claim(7)).toBe(false);
    expect(ids.size).toBe(1);
  });

  it('ignores cancellations of ids that are not in flight', async () => {
    const ids = inFlightIds();
    ids.observe(cancel(3));
    ids.observe({ jsonrpc: '2.0', method: 'notifications/cancelled' });
    await turn();
    expect(ids.size).toBe(0);
  });
});
