/** Longest delay a Node timer takes; a later expiry is re-armed when this one fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * One timer for the earliest expiry to come, so an expiry is written and announced when it happens, not
 * at the next sweep. `due(at)` brings the timer forward when `at` is earlier than what it waits for.
 */
export function expiryTimer(now: () => Date, fire: () => Promise<void>) {
  let timer: NodeJS.Timeout | undefined;
  let armedFor = Infinity;
  let stopped = false;
  return {
    due(at: string): void {
      const when = Date.parse(at);
      if (stopped || when >= armedFor) return;
      clearTimeout(timer);
      armedFor = when;
      timer = setTimeout(
        () => {
          armedFor = Infinity;
          void fire();
        },
        Math.min(Math.max(when - now().getTime(), 0), MAX_TIMER_MS),
      );
      timer.unref();
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
