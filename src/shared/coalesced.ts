/**
 * Runs `run` one at a time: a wake-up while it runs asks for one more run after it, however many
 * wake-ups came (each of them is satisfied by a run that starts after it). For work that reads the
 * latest state of something (a change feed, counts) when told that it changed: a burst of changes
 * costs one run more, not one each. A failed run is reported to `failed` and ends nothing.
 */
export function coalesced(run: () => Promise<void>, failed: (error: unknown) => void) {
  let running: Promise<void> | undefined;
  let again = false;
  function wake(): void {
    if (running) {
      again = true;
      return;
    }
    running = run()
      .catch(failed)
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }
  return {
    wake,
    /** Resolves once no run is under way or asked for. */
    async idle(): Promise<void> {
      while (running) await running;
    },
  };
}
