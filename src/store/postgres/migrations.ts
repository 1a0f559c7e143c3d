import type pg from 'pg';
import { GatehouseError } from '../../errors.js';
import { fillCallKeys } from './callKeys.js';

/**
 * The database schema's versions. Each migration turns version n - 1 into n and is never edited once
 * released: a change to what is stored adds the next one. `migrate` applies what a database lacks, at
 * start, in one transaction under an advisory lock, so replicas starting together migrate once and none
 * uses a half-migrated schema.
 */

export interface Migration {
  version: number;
  /** What it adds, for the migrations table. */
  name: string;
  sql: string;
  /** What SQL cannot do, run after `sql` in the same transaction (with the schema on the search path). */
  backfill?: (client: pg.ClientBase) => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'approval requests, their archive and the quarantined records',
    sql: `
      -- doc is the request as the schema defines it (json keeps its keys as written); the other
      -- columns are derived from it for the queries and the claims.
      CREATE TABLE approvals (
        id text PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        digest text NOT NULL,
        state text NOT NULL,
        revision bigint NOT NULL DEFAULT 1,
        ended_at timestamptz,
        lease_owner text,
        lease_until timestamptz,
        doc json NOT NULL
      );
      -- One open request per invocation: identical calls racing on several replicas make one request.
      CREATE UNIQUE INDEX approvals_open_digest ON approvals (digest)
        WHERE state IN ('pending', 'approved', 'executing');
      CREATE INDEX approvals_state ON approvals (state, seq);
      CREATE INDEX approvals_digest ON approvals (digest, seq);
      CREATE INDEX approvals_ended ON approvals (ended_at) WHERE ended_at IS NOT NULL;
      CREATE TABLE approvals_archive (
        seq bigserial PRIMARY KEY,
        id text NOT NULL,
        archived_at timestamptz NOT NULL DEFAULT now(),
        doc json NOT NULL
      );
      CREATE TABLE quarantined (
        seq bigserial PRIMARY KEY,
        id text NOT NULL,
        doc json NOT NULL
      );`,
  },
  {
    version: 2,
    name: "the channels' outbox: deliveries, memos, callback tokens, Teams conversations",
    sql: `
      CREATE TABLE deliveries (
        id text PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        approval_id text NOT NULL,
        channel text NOT NULL,
        stage_order bigint NOT NULL,
        state text NOT NULL,
        next_attempt_at timestamptz NOT NULL,
        lease_until timestamptz,
        doc json NOT NULL
      );
      CREATE INDEX deliveries_pending ON deliveries (approval_id, channel, stage_order)
        WHERE state = 'pending';
      CREATE INDEX deliveries_approval ON deliveries (approval_id, seq);
      CREATE TABLE channel_memos (
        approval_id text NOT NULL,
        channel text NOT NULL,
        memo json NOT NULL,
        PRIMARY KEY (approval_id, channel)
      );
      CREATE TABLE callback_tokens (
        hash text PRIMARY KEY,
        approval_id text NOT NULL,
        delivery_id text NOT NULL,
        doc json NOT NULL
      );
      CREATE INDEX callback_tokens_delivery ON callback_tokens (delivery_id);
      CREATE INDEX callback_tokens_approval ON callback_tokens (approval_id);
      CREATE TABLE conversations (
        channel text NOT NULL,
        id text NOT NULL,
        seq bigserial NOT NULL UNIQUE,
        doc json NOT NULL,
        PRIMARY KEY (channel, id)
      );`,
  },
  {
    version: 3,
    name: 'when each request last changed, for the change feed',
    sql: `
      -- The feed's backstop reads what changed since its last read; LISTEN/NOTIFY only wakes it sooner.
      ALTER TABLE approvals ADD COLUMN changed_at timestamptz NOT NULL DEFAULT clock_timestamp();
      CREATE INDEX approvals_changed ON approvals (changed_at);`,
  },
  {
    version: 4,
    name: "approvers' page sessions, API tokens, failed sign-ins and OIDC sign-ins, shared by the replicas",
    sql: `
      -- Keyed by the SHA-256 of the secret (the cookie's id, the token): what is kept cannot be
      -- replayed. Times are epoch milliseconds, as the web layer counts them.
      CREATE TABLE approver_sessions (
        key text PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        approver text NOT NULL,
        expires_at bigint NOT NULL,
        doc json NOT NULL
      );
      CREATE INDEX approver_sessions_approver ON approver_sessions (approver, seq);
      CREATE INDEX approver_sessions_expiry ON approver_sessions (expires_at);
      CREATE TABLE api_tokens (
        hash text PRIMARY KEY,
        id text NOT NULL UNIQUE,
        seq bigserial NOT NULL UNIQUE,
        approver text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        doc json NOT NULL
      );
      CREATE INDEX api_tokens_approver ON api_tokens (approver, created_at);
      CREATE INDEX api_tokens_expiry ON api_tokens (expires_at);
      CREATE TABLE sign_in_failures (
        key text NOT NULL,
        at bigint NOT NULL
      );
      CREATE INDEX sign_in_failures_key ON sign_in_failures (key, at);
      CREATE TABLE oidc_transactions (
        key text PRIMARY KEY,
        seq bigserial NOT NULL UNIQUE,
        expires_at bigint NOT NULL,
        doc json NOT NULL
      );
      CREATE INDEX sign_in_failures_at ON sign_in_failures (at);`,
  },
  {
    version: 5,
    name: "when the outbox's next delivery falls due, found through an index",
    sql: `
      -- The outbox asks after its claims when it can next claim something: the earliest time a
      -- pending delivery is due and its lease (if any) has run out. In this order the answer is the
      -- first rows of the index, however many deliveries wait.
      CREATE INDEX deliveries_due ON deliveries
        ((greatest(next_attempt_at, coalesce(lease_until, '-infinity'::timestamptz))))
        WHERE state = 'pending';`,
  },
  {
    version: 6,
    name: 'when each open request expires, for the expiry sweep',
    sql: `
      -- The sweep reads the pending and approved requests whose expiry has come, and when the next
      -- one comes: an index over exactly those, not a read of every open request.
      ALTER TABLE approvals ADD COLUMN expires_at timestamptz;
      UPDATE approvals SET expires_at = (doc->>'expiresAt')::timestamptz;
      ALTER TABLE approvals ALTER COLUMN expires_at SET NOT NULL;
      CREATE INDEX approvals_expiry ON approvals (expires_at) WHERE state IN ('pending', 'approved');`,
  },
  {
    version: 7,
    name: "which transaction made each request's revision, the change feed's cursor",
    sql: `
      -- The feed reads the rows stamped at or above its cursor, a snapshot's xmin (store/postgres/
      -- feed.ts says why a transaction id and not a time or a sequence). The stamp is set here, by the
      -- database, for every writer: a new row, and every update that makes a new revision.
      ALTER TABLE approvals ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
      CREATE INDEX approvals_change_xid ON approvals (change_xid);
      CREATE FUNCTION approvals_stamp_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.change_xid := pg_current_xact_id();
          RETURN NEW;
        END $$;
      CREATE TRIGGER approvals_stamp_change BEFORE UPDATE ON approvals FOR EACH ROW
        WHEN (NEW.revision IS DISTINCT FROM OLD.revision) EXECUTE FUNCTION approvals_stamp_change();
      -- The time window the feed read before: no longer read, and no longer worth its index.
      ALTER TABLE approvals DROP COLUMN changed_at;`,
  },
  {
    version: 8,
    name: 'which call each request was made for, to find the earlier request of a changed tool',
    sql: `
      -- A new approval request looks up the requester's latest request for the same call (caller,
      -- server, tool, arguments) made against another definition of the tool: by this key, not by a
      -- read of every request. Nullable: the backfill below sets it, and an older Gatehouse still
      -- running during the upgrade writes requests without it, which the lookup fills first
      -- (store/postgres/callKeys.ts), found through the second index.
      ALTER TABLE approvals ADD COLUMN call_key text;
      CREATE INDEX approvals_call_key ON approvals (call_key, seq);
      CREATE INDEX approvals_call_key_missing ON approvals (seq) WHERE call_key IS NULL;`,
    backfill: (client) => fillCallKeys((sql, params) => client.query(sql, params)),
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Brings the schema `schema` up to `target` (default: the latest); returns the version found. Refuses
 * a database a newer Gatehouse migrated (STORE_VERSION_UNSUPPORTED): this one would misread it.
 */
export async function migrate(
  client: pg.ClientBase,
  schema: string,
  name: string,
  migrations: readonly Migration[] = MIGRATIONS,
  target: number = migrations.at(-1)!.version,
): Promise<number> {
  await client.query('BEGIN');
  try {
    // Transaction-scoped: released by the commit or the rollback, and by the server if we die.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`gatehouse migrations ${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const found = await currentVersion(client, schema);
    const known = migrations.at(-1)?.version ?? 0;
    if (found > known) {
      throw new GatehouseError(
        'STORE_VERSION_UNSUPPORTED',
        `${name}: schema ${schema} is at version ${found}, written by a newer Gatehouse (this one knows up ` +
          `to ${known}). Upgrade Gatehouse, or point it at another schema.`,
        { store: name, schemaVersion: found, supported: known },
      );
    }
    for (const migration of migrations) {
      if (migration.version <= found || migration.version > target) continue;
      await client.query(`SET LOCAL search_path TO ${schema}`);
      await client.query(migration.sql);
      await migration.backfill?.(client);
      await client.query(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
    return found;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

export async function currentVersion(client: pg.ClientBase, schema: string): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${schema}.schema_migrations`,
  );
  return rows[0]?.version ?? 0;
}
