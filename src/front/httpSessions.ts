import type { Principal } from '../identity/index.js';
import type { Logger } from '../log.js';

/** Bounds on HTTP MCP sessions (config `sessions`). */
export interface SessionLimits {
  /** A session idle this long is closed, as if its client had sent DELETE. */
  idleTimeoutMs: number;
  /** Sessions one caller (principal id) holds at once. */
  maxPerCaller: number;
  /** At the cap: close that caller's longest-idle session (refuse when none is idle), or refuse. */
  atCap: 'close-oldest-idle' | 'refuse';
}

/** What the table needs of a session's transport. */
export interface SessionHandle {
  /** Since when the session has been idle; undefined while a request or its GET stream is open. */
  idleSince(): number | undefined;
  /** Ends the session the one way every ending takes (DELETE, expiry, the cap, shutdown). */
  close(): Promise<void>;
}

export interface SessionCounts {
  /** Open sessions per caller id. */
  byCaller: Record<string, number>;
  /** Closed after idleTimeoutMs without a request or an open stream, since start. */
  expired: number;
  /** Closed to make room for a new session of the same caller at maxPerCaller. */
  closedAtCap: number;
  /** New sessions refused at maxPerCaller. */
  refusedAtCap: number;
}

/** Longest pause between two looks for expired sessions. */
const MAX_SWEEP_INTERVAL_MS = 60_000;

/**
 * The open MCP sessions of the HTTP front, each with the principal that opened it, bounded two ways:
 * a session with nothing open for `idleTimeoutMs` is closed (a client that crashed without DELETE
 * does not hold its session forever), and a caller holds at most `maxPerCaller` sessions. Closing
 * goes through the transport, whose `onclose` takes the session out of here and releases what it
 * holds, exactly as a DELETE does.
 */
export function createSessionTable<T extends SessionHandle>(
  limits: SessionLimits,
  logger: Logger,
  now: () => number = Date.now,
) {
  const open = new Map<string, { transport: T; owner: Principal }>();
  const byCaller = new Map<string, Set<string>>();
  const counts = { expired: 0, closedAtCap: 0, refusedAtCap: 0 };
  let sweeper: NodeJS.Timeout | undefined;

  /** Of the sessions `ids`, the one idle longest, if any is idle. */
  function longestIdle(ids: Iterable<string>): { id: string; since: number } | undefined {
    let oldest: { id: string; since: number } | undefined;
    for (const id of ids) {
      const since = open.get(id)?.transport.idleSince();
      if (since !== undefined && (!oldest || since < oldest.since)) oldest = { id, since };
    }
    return oldest;
  }

  function close(id: string, why: string, fields: Record<string, unknown> = {}): void {
    const entry = open.get(id);
    if (!entry) return;
    logger.info({ session: id, caller: entry.owner.id, ...fields }, why);
    void entry.transport.close();
  }

  /** Closes every session idle for idleTimeoutMs or longer. */
  function sweep(): void {
    const at = now();
    for (const [id, { transport }] of open) {
      const since = transport.idleSince();
      if (since === undefined || at - since < limits.idleTimeoutMs) continue;
      counts.expired += 1;
      close(id, 'client session expired (idle)', { idleMs: at - since });
    }
  }

  return {
    get: (id: string) => open.get(id),
    has: (id: string) => open.has(id),
    add(id: string, transport: T, owner: Principal): void {
      open.set(id, { transport, owner });
      const mine = byCaller.get(owner.id) ?? new Set<string>();
      byCaller.set(owner.id, mine.add(id));
    },
    /** Forgets a closed session; whether it was open. */
    remove(id: string): boolean {
      const entry = open.get(id);
      if (!entry) return false;
      open.delete(id);
      const mine = byCaller.get(entry.owner.id);
      mine?.delete(id);
      if (mine?.size === 0) byCaller.delete(entry.owner.id);
      return true;
    },

    /**
     * Whether `callerId` may open one more session: undefined when it may (at the cap, after closing
     * its longest-idle session under `close-oldest-idle`), else the refusal, naming the limit.
     */
    admit(callerId: string): string | undefined {
      const mine = byCaller.get(callerId);
      if (!mine || mine.size < limits.maxPerCaller) return undefined;
      const oldest = limits.atCap === 'close-oldest-idle' ? longestIdle(mine) : undefined;
      if (oldest) {
        counts.closedAtCap += 1;
        close(oldest.id, 'client session closed to make room for a new one (sessions.maxPerCaller)', {
          idleMs: now() - oldest.since,
        });
        return undefined;
      }
      counts.refusedAtCap += 1;
      logger.warn({ caller: callerId, limit: limits.maxPerCaller }, 'new client session refused at the cap');
      return (
        `Too many MCP sessions: caller "${callerId}" already has ${mine.size} open ` +
        `(the limit sessions.maxPerCaller is ${limits.maxPerCaller}` +
        (limits.atCap === 'close-oldest-idle' ? ', and none of them is idle' : '') +
        '); end one with DELETE, or wait until one has been idle for ' +
        `${Math.ceil(limits.idleTimeoutMs / 1000)} s and expires`
      );
    },

    sweep,

    /**
     * Sweeps from now on: a session is closed within half its timeout (at most a minute) after it
     * has been idle for idleTimeoutMs.
     */
    start(): void {
      const every = Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(10, Math.floor(limits.idleTimeoutMs / 2)));
      sweeper = setInterval(sweep, every);
      sweeper.unref();
    },

    /** Stops sweeping and closes every session. */
    async closeAll(): Promise<void> {
      clearInterval(sweeper);
      await Promise.allSettled([...open.values()].map((entry) => entry.transport.close()));
    },

    get size(): number {
      return open.size;
    },

    counts(): SessionCounts {
      return {
        byCaller: Object.fromEntries([...byCaller].map(([caller, ids]) => [caller, ids.size])),
        ...counts,
      };
    },
  };
}

export type SessionTable<T extends SessionHandle> = ReturnType<typeof createSessionTable<T>>;
