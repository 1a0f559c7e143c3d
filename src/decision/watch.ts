import { watch } from 'node:fs';

/**
 * Hands over a folder's content only once writing has finished. Editors, `cp`, shell redirections
 * and config-management tools write files in place, truncate first, or remove and recreate them;
 * anything read in between is a half-written policy. So a change is taken only when
 *
 * 1. the folder has been quiet (no relevant watch event) for `settleMs`, and
 * 2. two reads of the whole folder, at least `settleMs` apart and with no event during either,
 *    found the same content. The first read is taken at the first event of a burst, so a file
 *    replaced atomically (written, then renamed over the old one) is taken `settleMs` after the
 *    rename; a slow writer costs one more interval.
 *
 * A file removed and created again within the interval is one change. What is handed over is the
 * second read itself, so nothing can change between the check and the load.
 */

export interface FolderWatchOptions<T> {
  dir: string;
  settleMs: number;
  /** Reads the folder; never throws (an unreadable folder is a snapshot too). */
  read: () => Promise<T>;
  same: (a: T, b: T) => boolean;
  /** Called with each stable snapshot, one at a time; must not throw. */
  apply: (snapshot: T) => void;
  /** Whether an event for this file name can change what `read` returns; others do not count. */
  relevant: (filename: string | null) => boolean;
  onWatchError: (error: Error) => void;
}

export interface FolderWatch {
  /** Looks again as if the folder had changed: for what was written before the watch began. */
  changed(): void;
  close(): Promise<void>;
}

export function watchFolder<T>(options: FolderWatchOptions<T>): FolderWatch {
  const { settleMs } = options;
  let events = 0;
  let lastEventAt = 0;
  let closed = false;
  let cycle: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  /** Resolves once no event has come for `settleMs` (or the watch is closed). */
  async function quiet(): Promise<void> {
    for (;;) {
      const left = lastEventAt + settleMs - performance.now();
      if (closed || left <= 0) return;
      await sleep(left);
    }
  }

  async function run(): Promise<void> {
    let previous = await options.read();
    for (;;) {
      await quiet();
      if (closed) return;
      const before = events;
      const current = await options.read();
      if (closed) return;
      if (events === before && options.same(previous, current)) {
        options.apply(current);
        return;
      }
      previous = current;
      // Stable means unchanged across an interval: the next read is one interval away at least.
      lastEventAt = Math.max(lastEventAt, performance.now());
    }
  }

  const changed = (): void => {
    events++;
    lastEventAt = performance.now();
    cycle ??= run()
      .catch((error: unknown) => options.onWatchError(error as Error))
      .finally(() => (cycle = undefined));
  };
  const watcher = watch(options.dir, (_event, filename) => {
    if (options.relevant(filename === null ? null : String(filename))) changed();
  });
  watcher.on('error', options.onWatchError);

  return {
    changed,
    async close() {
      closed = true;
      watcher.close();
      clearTimeout(timer);
      wake?.();
      await cycle;
    },
  };
}
