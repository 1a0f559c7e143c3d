import pg from 'pg';
import type { ApprovalRequest } from '../../approvals/request.js';
import type { Logger } from '../../log.js';
import { coalesced } from '../../shared/coalesced.js';
import type { Db } from './db.js';

/**
 * Every replica hears every change of a request, whichever replica made it. A write notifies the
 * schema's channel (in the same statement, so only a committed change is announced); each replica
 * LISTENs on a connection of its own, and reads what changed since its last read on every
 * notification and every `pollIntervalMs` besides: a notification lost to a broken connection delays a
 * change by at most one interval, never loses it. Each revision is handed out once, and a replica
 * never hears its own writes (it told its own listeners already).
 *
 * What "since its last read" means, exactly. Every write that makes a new revision stamps the row
 * with its transaction's id (change_xid, an xid8: 64 bits, never wraps; set by a trigger, migration
 * 7). Transaction ids are handed out when transactions start writing, not when they commit: a
 * writer that got its id first may commit after one that got a later id, so "the rows above the
 * highest id read so far" would skip the late one for good. A snapshot says which ids are safe: every
 * transaction below its xmin has ended (committed and visible to it, or rolled back), and a
 * transaction at or above it may still commit later. So each read takes, in the same statement and
 * snapshot, the rows stamped at or above the cursor and the snapshot's xmin, hands out what it has not
 * handed out yet (by revision), and moves the cursor up to that xmin only: rows of transactions still
 * open are read again next time, once they have committed. Rows committed above the xmin are handed
 * out at once (not held until the xmin passes them: an unrelated long transaction elsewhere on the
 * server holds the xmin back, and must not delay the feed) and remembered until the cursor passes
 * them, so they are not handed out twice. A read therefore returns what changed since the previous
 * read, plus the few rows written while some transaction was open; not the last seconds' writes
 * again on every notification, as a time window would.
 */
export interface Feed {
  /**
   * Resolves once the feed listens (or has tried to, and keeps trying) and has read where things
   * stand: every change after it is heard. The store is handed out only then.
   */
  ready: Promise<void>;
  /**
   * The revision this replica wrote itself, in the transaction `xid` (its change_xid): not to be
   * handed out again.
   */
  wrote(id: string, revision: number, xid: string): void;
  /**
   * Marks a write of this replica on `id` under way until the returned function is called (after
   * `wrote`, if it was written): a read meanwhile leaves that request for the next read, so a write
   * whose commit a read sees before `wrote` is not handed out as another replica's.
   */
  writing(id: string): () => void;
  watch(listener: (request: ApprovalRequest) => void): () => void;
  stop(): Promise<void>;
}

/** How long a broken LISTEN connection waits before it connects again (at most pollIntervalMs). */
const RECONNECT_MS = 1_000;

/** The NOTIFY channel of a schema (a checked identifier). */
export const feedChannel = (schema: string) => `gatehouse_${schema}`;

export function startFeed(
  db: Db,
  config: pg.ClientConfig,
  schema: string,
  pollIntervalMs: number,
  log: Logger,
): Feed {
  const listeners = new Set<(request: ApprovalRequest) => void>();
  /** Revisions handed out (or written here) whose rows the cursor has not passed yet. */
  const seen = new Map<string, { revision: number; xid: bigint }>();
  const inFlight = new Map<string, number>();
  /** Rows stamped below it were read (or never will be news); undefined until the first read. */
  let cursor: bigint | undefined;
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  async function readChanges(): Promise<void> {
    // One statement, one snapshot: the horizon is the xmin of the snapshot the rows are read in.
    const { rows } = await db.query<{
      horizon: string;
      doc: ApprovalRequest | null;
      revision: string;
      xid: string;
    }>(
      `WITH snapshot AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon)
       SELECT s.horizon::text AS horizon, a.doc, a.revision, a.change_xid::text AS xid
         FROM snapshot s LEFT JOIN approvals a ON a.change_xid >= coalesce($1::xid8, s.horizon)
        ORDER BY a.change_xid`,
      [cursor?.toString() ?? null],
    );
    const horizon = BigInt(rows[0]!.horizon);
    const first = cursor === undefined;
    let next = horizon;
    for (const row of rows) {
      if (!row.doc) continue;
      const { id } = row.doc;
      const revision = Number(row.revision);
      const xid = BigInt(row.xid);
      if (inFlight.has(id)) {
        // Read again next time: by then this replica's write is settled either way.
        if (xid < next) next = xid;
        continue;
      }
      if ((seen.get(id)?.revision ?? 0) >= revision) continue;
      seen.set(id, { revision, xid });
      // The first read only learns where things stand: what existed before is not news.
      if (!first) for (const listener of listeners) listener(row.doc);
    }
    cursor = next;
    // What the cursor has passed is never read again: nothing to remember it against.
    for (const [id, entry] of seen) if (entry.xid < next) seen.delete(id);
  }

  /** One read at a time; wake-ups during a read (notifications, the poll) make one more, not one each. */
  const read = coalesced(
    () => (stopped ? Promise.resolve() : readChanges()),
    (error) => log.warn({ reason: String(error) }, 'reading the change feed failed'),
  );

  async function listen(): Promise<void> {
    if (stopped) return;
    const next = new pg.Client(config);
    const reconnect = () => {
      if (stopped || client !== next) return;
      client = undefined;
      next.end().catch(() => undefined);
      // Soon, and again every second while the server is away; the periodic read covers the gap.
      retry = setTimeout(() => void listen(), Math.min(pollIntervalMs, RECONNECT_MS));
      retry.unref();
    };
    next.on('error', (error) => {
      log.warn({ reason: String(error) }, 'the change feed lost its connection; reconnecting');
      reconnect();
    });
    next.on('end', reconnect);
    next.on('notification', () => read.wake());
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${feedChannel(schema)}`);
      // What changed while nobody listened.
      read.wake();
    } catch (error) {
      log.warn({ reason: String(error) }, 'the change feed cannot listen; reconnecting');
      reconnect();
    }
  }

  // Listen first, then read where things stand: a change after that read is notified, or read later.
  const ready = listen().then(async () => {
    if (cursor === undefined) read.wake();
    await read.idle();
  });
  const poll = setInterval(() => read.wake(), pollIntervalMs);
  poll.unref();

  return {
    ready,
    wrote: (id, revision, xid) => {
      if ((seen.get(id)?.revision ?? 0) < revision) seen.set(id, { revision, xid: BigInt(xid) });
    },
    writing(id) {
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
      let settled = false;
      return () => {
        if (settled) return;
        settled = true;
        const left = (inFlight.get(id) ?? 1) - 1;
        if (left > 0) inFlight.set(id, left);
        else inFlight.delete(id);
      };
    },
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      clearTimeout(retry);
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
      await read.idle();
    },
  };
}
