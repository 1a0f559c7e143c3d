import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import type { QuarantinedRecord } from '../../approvals/quarantine.js';
import type { ApprovalRequest } from '../../approvals/request.js';
import { OPEN_STATES, endedAt } from '../../approvals/states.js';
import type { Logger } from '../../log.js';
import { checkedNew, conflict, nextRequest, notFound } from '../rules.js';
import type { ApprovalStore, CreateResult, TransitionResult } from '../store.js';
import { callKeyOf } from '../callKey.js';
import { fillCallKeys } from './callKeys.js';
import { connectionOf } from './connection.js';
import { openDb, unavailable, type Db } from './db.js';
import type { ApproverStateFactory } from '../../approvals/web/approverState.js';
import type { StoreDocument } from '../document.js';
import { postgresApproverState } from './approverState.js';
import { feedChannel, startFeed, type Feed } from './feed.js';
import { importDocument, type ImportSummary } from './import.js';
import { migrate } from './migrations.js';
import { decodeCursor, encodeCursor } from '../pageCursor.js';
import type { PostgresSettings } from './options.js';
import { postgresOutbox } from './outbox.js';
import { checkServerVersion } from './serverVersion.js';

/**
 * The shared store: every replica of Gatehouse opens the same database, and every rule the file store
 * keeps with one writer holds here with many. A transition is a conditional update on the request's
 * revision (so two writers that both leave a request pending cannot overwrite each other); an
 * execution is claimed with a lease that names the replica and is renewed while it lives; one open
 * request per digest is a unique index.
 */

export interface PostgresStoreOptions {
  url: string;
  settings: PostgresSettings;
  logger: Logger;
}

export interface PostgresStore extends ApprovalStore {
  /** This replica's name in leases. */
  readonly replica: string;
  /** postgres://user@host:port/database, without the password. */
  readonly name: string;
  /** Approvers' sessions, API tokens, failed sign-ins and OIDC sign-ins, shared by the replicas. */
  readonly approverState: ApproverStateFactory;
  /** Writes a file store's document and archive into this (empty) schema, all or nothing. */
  importDocument(document: StoreDocument, archived: readonly ApprovalRequest[]): Promise<ImportSummary>;
}

/** Where a page ended: the row's seq, a bigint as its decimal text. */
const PostgresCursorSchema = z.strictObject({ seq: z.string().regex(/^[1-9][0-9]{0,17}$/) });

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const { settings } = options;
  const connection = connectionOf(options.url, settings);
  const name = connection.name;
  const log = options.logger.child({ module: 'store', store: name });
  const db = openDb(new pg.Pool(connection.config), name);
  const replica = settings.replica ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  try {
    await db.withClient(async (client) => {
      const { rows } = await client.query<{ version: string }>(
        "SELECT current_setting('server_version_num') AS version",
      );
      checkServerVersion(Number(rows[0]?.version), name);
      await migrate(client, settings.schema, name);
    });
  } catch (error) {
    await db.close();
    throw unavailable(name, error);
  }
  const leases = renewLeases(db, replica, settings.leaseMs, log);
  const feed = startFeed(db, connection.config, settings.schema, settings.pollIntervalMs, log);
  await feed.ready;
  const store = approvalsTable(db, replica, settings.leaseMs, feed, settings.schema);
  let closing: Promise<void> | undefined;
  return {
    ...store,
    ...postgresOutbox(db),
    replica,
    name,
    watch: (listener) => feed.watch(listener),
    approverState: postgresApproverState(db),
    importDocument: (document, archived) =>
      db.transaction((client) => importDocument(client, name, document, archived)),
    close: () =>
      (closing ??= (async () => {
        leases.stop();
        await feed.stop();
        await db.close();
      })()),
  };
}

interface Row {
  doc: ApprovalRequest;
  revision: string;
  held: boolean;
}

/** What a write of a request returns: the transaction that made it (its change_xid), for the feed. */
interface Written {
  xid: string;
}

type Store = Omit<ApprovalStore, keyof ReturnType<typeof postgresOutbox> | 'close' | 'watch'>;

function approvalsTable(db: Db, replica: string, leaseMs: number, feed: Feed, schema: string): Store {
  const name = db.name;
  const channel = feedChannel(schema);
  const open = OPEN_STATES as readonly string[];
  const docs = (rows: { doc: ApprovalRequest }[]) => rows.map((r) => r.doc);

  /** The request, its revision and whether another live replica holds its execution. */
  async function read(id: string): Promise<Row | undefined> {
    const { rows } = await db.query<Row>(
      `SELECT doc, revision, (lease_owner IS NOT NULL AND lease_owner <> $2 AND lease_until > now()) AS held
         FROM approvals WHERE id = $1`,
      [id, replica],
    );
    return rows[0];
  }

  return {
    async create(request): Promise<CreateResult> {
      const candidate = checkedNew(request, name);
      for (;;) {
        const settled = feed.writing(candidate.id);
        try {
          const inserted = await db.query<Written>(
            `WITH added AS (
               INSERT INTO approvals (id, digest, state, expires_at, doc, call_key)
                 VALUES ($1, $2, $3, $4, $5, $7)
                 ON CONFLICT DO NOTHING RETURNING id, change_xid)
             SELECT pg_notify($6, id), change_xid::text AS xid FROM added`,
            [
              candidate.id,
              candidate.digest,
              candidate.state,
              candidate.expiresAt,
              JSON.stringify(candidate),
              channel,
              callKeyOf(candidate),
            ],
          );
          if (inserted.rowCount === 1) {
            feed.wrote(candidate.id, 1, inserted.rows[0]!.xid);
            return { created: true, request: candidate };
          }
        } finally {
          settled();
        }
        const joined = await db.query<{ doc: ApprovalRequest }>(
          'SELECT doc FROM approvals WHERE digest = $1 AND state = ANY($2)',
          [candidate.digest, open],
        );
        if (joined.rows[0]) return { created: false, request: joined.rows[0].doc };
        const taken = await db.query('SELECT 1 FROM approvals WHERE id = $1', [candidate.id]);
        if (taken.rowCount) throw conflict(name, `an approval with id ${candidate.id} already exists`);
        // The open request it collided with ended in between: try again.
      }
    },

    async get(id) {
      return (await read(id))?.doc;
    },

    async findByDigest(digest) {
      const { rows } = await db.query<{ doc: ApprovalRequest }>(
        `SELECT doc FROM approvals WHERE digest = $1
           ORDER BY (state = ANY($2)) DESC, seq DESC LIMIT 1`,
        [digest, open],
      );
      return rows[0]?.doc;
    },

    async latestWithOtherDefinition(call) {
      await fillCallKeys((sql, params) => db.query(sql, params));
      const { rows } = await db.query<{ doc: ApprovalRequest }>(
        `SELECT doc FROM approvals WHERE call_key = $1 AND doc->>'toolDefinitionDigest' <> $2
           ORDER BY seq DESC LIMIT 1`,
        [callKeyOf(call), call.toolDefinitionDigest],
      );
      return rows[0]?.doc;
    },

    async list(filter = {}) {
      const { states } = filter;
      const { rows } = await db.query<{ doc: ApprovalRequest }>(
        'SELECT doc FROM approvals WHERE $1::text[] IS NULL OR state = ANY($1) ORDER BY seq',
        [states ?? null],
      );
      return docs(rows);
    },

    // Newest first along seq (approvals_state for a state filter), one row more than the page to
    // know whether another follows. seq is never reused, so an archived row leaves no gap to fall in.
    async listPage({ states }, { limit, cursor }) {
      const before = cursor === undefined ? null : decodeCursor(cursor, PostgresCursorSchema).seq;
      const { rows } = await db.query<{ doc: ApprovalRequest; seq: string }>(
        `SELECT doc, seq FROM approvals
          WHERE ($1::text[] IS NULL OR state = ANY($1)) AND ($2::bigint IS NULL OR seq < $2)
          ORDER BY seq DESC LIMIT $3`,
        [states ?? null, before, limit + 1],
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        requests: docs(page),
        ...(rows.length > limit && last ? { next: encodeCursor({ seq: last.seq }) } : {}),
      };
    },

    // Newest change first through approvals_change_xid, read backwards until `limit` rows match.
    async latestChanged(states, limit) {
      const { rows } = await db.query<{ doc: ApprovalRequest }>(
        'SELECT doc FROM approvals WHERE state = ANY($1) ORDER BY change_xid DESC, seq DESC LIMIT $2',
        [states, limit],
      );
      return docs(rows);
    },

    // The states a request can expire from (pending, approved), written out so that the planner
    // matches the approvals_expiry index's predicate.
    async expiredBy(at) {
      const { rows } = await db.query<{ doc: ApprovalRequest }>(
        `SELECT doc FROM approvals WHERE state IN ('pending', 'approved') AND expires_at <= $1 ORDER BY seq`,
        [at],
      );
      return docs(rows);
    },

    async nextExpiry() {
      const { rows } = await db.query<{ at: Date | null }>(
        `SELECT min(expires_at) AS at FROM approvals WHERE state IN ('pending', 'approved')`,
      );
      return rows[0]?.at ?? undefined;
    },

    async transition(id, expected, update): Promise<TransitionResult> {
      for (;;) {
        const row = await read(id);
        if (!row) throw notFound(id);
        const current = row.doc;
        if (current.state !== expected) return { ok: false, request: current };
        const next = nextRequest(current, expected, update, name);
        if (!next) return { ok: true, request: current };
        // Another live replica runs it: only that one records how it ended.
        if (row.held) return { ok: false, request: current };
        const executing = next.state === 'executing';
        const ended = endedAt(next);
        const settled = feed.writing(id);
        try {
          const written = await db.query<Written>(
            `WITH changed AS (
               UPDATE approvals
                  SET doc = $3, state = $4, revision = revision + 1, ended_at = $5, expires_at = $10,
                      lease_owner = CASE WHEN $6 THEN $7 END,
                      lease_until = CASE WHEN $6 THEN now() + $8 * interval '1 millisecond' END
                WHERE id = $1 AND revision = $2
                  AND (lease_owner IS NULL OR lease_owner = $7 OR lease_until <= now())
                RETURNING id, change_xid)
             SELECT pg_notify($9, id), change_xid::text AS xid FROM changed`,
            [
              id,
              row.revision,
              JSON.stringify(next),
              next.state,
              ended ?? null,
              executing,
              replica,
              leaseMs,
              channel,
              next.expiresAt,
            ],
          );
          if (written.rowCount === 1) {
            feed.wrote(id, Number(row.revision) + 1, written.rows[0]!.xid);
            return { ok: true, request: next };
          }
        } finally {
          settled();
        }
        // Another writer changed it since we read it: decide again on what it left.
      }
    },

    async abandonedExecutions() {
      const { rows } = await db.query<{ doc: ApprovalRequest }>(
        `SELECT doc FROM approvals
          WHERE state = 'executing' AND (lease_until IS NULL OR lease_until <= now())
          ORDER BY seq`,
      );
      return docs(rows);
    },

    async quarantined() {
      const { rows } = await db.query<{ doc: QuarantinedRecord }>('SELECT doc FROM quarantined ORDER BY seq');
      return rows.map((r) => r.doc);
    },

    async archiveFinished(endedBefore) {
      return db.transaction(async (client) => {
        const { rows } = await client.query<{ id: string; doc: ApprovalRequest }>(
          `WITH gone AS (DELETE FROM approvals WHERE ended_at < $1 RETURNING id, seq, doc),
                kept AS (INSERT INTO approvals_archive (id, doc) SELECT id, doc FROM gone ORDER BY seq)
           SELECT id, doc FROM gone ORDER BY seq`,
          [endedBefore],
        );
        if (rows.length === 0) return [];
        const ids = rows.map((r) => r.id);
        for (const table of ['deliveries', 'channel_memos', 'callback_tokens']) {
          await client.query(`DELETE FROM ${table} WHERE approval_id = ANY($1)`, [ids]);
        }
        return docs(rows);
      });
    },
  };
}

/** Keeps this replica's execution claims alive while it lives; a dead replica's lapse after leaseMs. */
function renewLeases(db: Db, replica: string, leaseMs: number, log: Logger) {
  const timer = setInterval(
    () => {
      db.query(
        `UPDATE approvals SET lease_until = now() + $2 * interval '1 millisecond'
        WHERE state = 'executing' AND lease_owner = $1`,
        [replica, leaseMs],
      ).catch((error: unknown) => log.warn({ reason: String(error) }, 'execution leases not renewed'));
    },
    Math.floor(leaseMs / 3),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
