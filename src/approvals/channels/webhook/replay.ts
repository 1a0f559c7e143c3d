/**
 * The webhook-ids of accepted callbacks, remembered while their signed timestamp is still inside the
 * verification window: a replay within the window is refused by its id, one after it by its timestamp.
 * Bounded: when full of ids still inside the window, further callbacks are refused rather than an id
 * forgotten early (fail closed). In memory: after a restart the single-use callback tokens still refuse
 * a replayed decision.
 */
export interface ReplayGuard {
  /** 'fresh' (now remembered), 'replayed', or 'full'. */
  remember(id: string, timestampMs: number, nowMs: number): 'fresh' | 'replayed' | 'full';
}

/** Signed timestamps are accepted this far from the clock, either way (the Standard Webhooks default). */
export const TOLERANCE_MS = 5 * 60_000;

export function createReplayGuard(capacity: number): ReplayGuard {
  const seen = new Map<string, number>();
  return {
    remember(id, timestampMs, nowMs) {
      const until = seen.get(id);
      if (until !== undefined && until > nowMs) return 'replayed';
      if (seen.size >= capacity) {
        for (const [key, expiry] of seen) if (expiry <= nowMs) seen.delete(key);
        if (seen.size >= capacity) return 'full';
      }
      // Accepted until timestamp + tolerance; remembered a little beyond, for clocks that disagree.
      seen.set(id, Math.max(timestampMs, nowMs) + TOLERANCE_MS + 60_000);
      return 'fresh';
    },
  };
}
