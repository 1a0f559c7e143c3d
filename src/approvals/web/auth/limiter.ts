/**
 * Counts failed sign-ins per key (an account, a client address, or both) over a sliding window and
 * says how long a key must wait once it reaches its limit. In memory here (for replicas, in
 * PostgreSQL: store/postgres/approverState.ts), bounded in keys: the oldest keys
 * go first when an attacker sprays names. A key whose failures have all left the window is forgotten
 * as the limiter is used, without a timer: keys are kept least recently failed first, so the stale
 * ones are always at the front.
 */
export interface AttemptLimiter {
  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfter(key: string, limit: number): Promise<number>;
  recordFailure(key: string): Promise<void>;
  reset(key: string): Promise<void>;
  /** Keys remembered now. */
  readonly size: number;
}

export interface AttemptLimiterOptions {
  windowMs: number;
  /** Most keys remembered at once. */
  maxKeys?: number;
  now?: () => number;
}

export function createAttemptLimiter(options: AttemptLimiterOptions): AttemptLimiter {
  const { windowMs, maxKeys = 10_000, now = Date.now } = options;
  const failures = new Map<string, number[]>();

  /** Forgets the keys at the front whose last failure has left the window. */
  function forgetStale(): void {
    const since = now() - windowMs;
    for (const [key, times] of failures) {
      if (times[times.length - 1]! > since) return;
      failures.delete(key);
    }
  }

  function recent(key: string): number[] {
    const times = failures.get(key);
    if (!times) return [];
    const since = now() - windowMs;
    const kept = times.filter((t) => t > since);
    if (kept.length === 0) failures.delete(key);
    else if (kept.length !== times.length) failures.set(key, kept);
    return kept;
  }

  return {
    async retryAfter(key, limit) {
      forgetStale();
      const times = recent(key);
      return waitFor(times, limit, windowMs, now());
    },
    async recordFailure(key) {
      forgetStale();
      const times = recent(key);
      failures.delete(key); // re-insert: Map order is then least recently failed first
      failures.set(key, [...times, now()]);
      while (failures.size > maxKeys) failures.delete(failures.keys().next().value!);
    },
    async reset(key) {
      failures.delete(key);
    },
    get size() {
      return failures.size;
    },
  };
}

/** How long a key with these recent failures (oldest first) waits at `limit`; 0 when it may try now. */
export function waitFor(times: readonly number[], limit: number, windowMs: number, now: number): number {
  if (times.length < limit) return 0;
  // The window frees a slot when the oldest failure that still counts leaves it.
  return Math.max(1, times[times.length - limit]! + windowMs - now);
}
