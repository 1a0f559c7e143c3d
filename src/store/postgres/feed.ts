import pg from 'pg';
import type { ApprovalRequest } from '../../approvals/request.js';
import type { Logger } from '../../log.js';
import type { Db } from './db.js';

/**
 * Every replica hears every change of a request, whichever replica made it. A write notifies the
 * schema's channel (in the same statement, so only a committed change is announced); each replica
 * LISTENs on a connection of its own, and reads what changed since its last read on every
 * notification and every `pollIntervalMs` besides: a notification lost to a broken connection delays a
 * change by at most one interval, never loses it. Each revision is handed out once, and a replica
 * never hears its own writes (it told its own listeners already).
 */
export interface Feed {
  /**
   * Resolves once the feed listens (or has tried to, and keeps trying) and has read where things
   * stand: every change after it is heard. The store is handed out only then.
   */
  ready: Promise<void>;
  /** The revision this replica wrote itself: not to be handed out again. */
  wrote(id: string, revision: number): void;
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
  const seen = new Map<string, number>();
  const inFlight = new Map<string, number>();
  // Database time of the last read; rows changed a little before it are read again, since a write's
  // timestamp is taken before it commits.
  let since: Date | undefined;
  let stopped = false;
  let reading: Promise<void> | undefined;
  let again = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  async function readChanges(): Promise<void> {
    const { rows } = await db.query<{ doc: ApprovalRequest; revision: string; now: Date }>(
      `SELECT doc, revision, now() AS now FROM approvals
        WHERE $1::timestamptz IS NULL OR changed_at > $1::timestamptz - $2 * interval '1 millisecond'
        ORDER BY changed_at`,
      [since ?? null, 2 * pollIntervalMs + 1_000],
    );
    if (since === undefined) {
      // The first read only learns where things stand: what existed before is not news.
      for (const row of rows) seen.set(row.doc.id, Number(row.revision));
    } else {
      for (const row of rows) {
        const revision = Number(row.revision);
        // Read again next time (it stays in the window): by then the write is settled either way.
        if (inFlight.has(row.doc.id)) continue;
        if ((seen.get(row.doc.id) ?? 0) >= revision) continue;
        seen.set(row.doc.id, revision);
        for (const listener of listeners) listener(row.doc);
      }
    }
    since = rows[0]?.now ?? (await db.query<{ now: Date }>('SELECT now() AS now')).rows[0]!.now;
    forgetOld(new Set(rows.map((r) => r.doc.id)));
  }

  /**
   * A request that left the re-read window comes back only with a newer revision, which is news
   * anyway: what it was need not be remembered.
   */
  function forgetOld(recent: ReadonlySet<string>): void {
    if (seen.size < 1_000) return;
    for (const id of seen.keys()) if (!recent.has(id)) seen.delete(id);
  }

  /** One read at a time; a wake-up during a read makes one more. */
  function read(): void {
    if (stopped) return;
    if (reading) {
      again = true;
      return;
    }
    reading = readChanges()
      .catch((error: unknown) => log.warn({ reason: String(error) }, 'reading the change feed failed'))
      .finally(() => {
        reading = undefined;
        if (again) {
          again = false;
          read();
        }
      });
  }

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
    next.on('notification', () => read());
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${feedChannel(schema)}`);
      // What changed while nobody listened.
      read();
    } catch (error) {
      log.warn({ reason: String(error) }, 'the change feed cannot listen; reconnecting');
      reconnect();
    }
  }

  // Listen first, then read where things stand: a change after that read is notified, or read later.
  const ready = listen().then(async () => {
    if (since === undefined) read();
    await reading;
  });
  const poll = setInterval(read, pollIntervalMs);
  poll.unref();

  return {
    ready,
    wrote: (id, revision) => {
      if ((seen.get(id) ?? 0) < revision) seen.set(id, revision);
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
      await reading;
    },
  };
}
