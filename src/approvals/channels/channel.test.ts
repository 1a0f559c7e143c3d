import { describe, expect, it } from 'vitest';
import { ChannelDeliveryError, isRetryableStatus, parseRetryAfter } from './channel.js';

describe('what a delivery failure means', () => {
  it('retries 408, 429 and 5xx, and no other 4xx', () => {
    expect([408, 429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 410, 413, 422].some(isRetryableStatus)).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date, and ignores what it cannot read', () => {
    const now = Date.parse('2026-05-01T10:00:00.000Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter(['5'], now)).toBe(5_000);
    expect(parseRetryAfter('Fri, 01 May 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Fri, 01 May 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('is a GatehouseError with a registered code, saying whether to retry', () => {
    const error = new ChannelDeliveryError('HTTP 503 from x', {
      retryable: true,
      retryAfterMs: 1000,
      status: 503,
    });
    expect(error).toMatchObject({ code: 'CHANNEL_DELIVERY_FAILED', retryable: true, retryAfterMs: 1000 });
    expect(error.context).toEqual({ retryable: true, status: 503 });
  });
});
