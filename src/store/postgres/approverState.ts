import type pg from 'pg';
import type { ApproverStateFactory } from '../../approvals/web/approverState.js';
import { waitFor } from '../../approvals/web/auth/limiter.js';
import { MAX_OIDC_TRANSACTIONS, type OidcTransaction } from '../../approvals/web/auth/oidc.js';
import { TOKEN_PREFIX, newApiToken, type ApiToken } from '../../approvals/web/auth/tokens.js';
import { key, newSession, type Session } from '../../approvals/web/sessions.js';
import type { Db } from './db.js';

/**
 * Approvers' page sessions, API tokens, failed sign-ins and OIDC sign-ins under way in PostgreSQL: a browser or a program
 * signed in on one replica is signed in on all, a sign-out or a revocation holds on all, and password
 * guesses spread over the replicas count together. The rules (bounds, expiry, the throttle) are the
 * in-memory stores' own; time is the web layer's clock, as there.
 */
export function postgresApproverState(db: Db): ApproverStateFactory {
  return (limits) => {
    const { now } = limits;
    const counts = { sessions: 0, tokens: 0, failures: 0 };
    const count = async (client: pg.ClientBase, table: string) =>
      Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

    /** Deletes the rows of `table` beyond the newest `keep` (of one approver, when given). */
    const keepNewest = (client: pg.ClientBase, table: string, id: string, keep: number, approver?: string) =>
      client.query(
        `DELETE FROM ${table} WHERE ${id} IN (
           SELECT ${id} FROM ${table} WHERE $2::text IS NULL OR approver = $2
            ORDER BY seq DESC OFFSET $1)`,
        [keep, approver ?? null],
      );

    return {
      sessions: {
        create: (principal, via) =>
          db.transaction(async (client) => {
            const created = newSession(principal, via, now(), limits.sessionTtlMs);
            await client.query(
              'INSERT INTO approver_sessions (key, approver, expires_at, doc) VALUES ($1, $2, $3, $4)',
              [key(created.id), principal.id, created.session.expiresAt, JSON.stringify(created.session)],
            );
            await keepNewest(client, 'approver_sessions', 'key', limits.maxSessionsPerApprover, principal.id);
            await keepNewest(client, 'approver_sessions', 'key', limits.maxSessions);
            counts.sessions = await count(client, 'approver_sessions');
            return created;
          }),
        async get(id) {
          if (!id) return undefined;
          const { rows } = await db.query<{ doc: Session }>(
            'SELECT doc FROM approver_sessions WHERE key = $1',
            [key(id)],
          );
          const session = rows[0]?.doc;
          if (session && session.expiresAt <= now()) {
            await db.query('DELETE FROM approver_sessions WHERE key = $1', [key(id)]);
            return undefined;
          }
          return session;
        },
        async destroy(id) {
          if (id) await db.query('DELETE FROM approver_sessions WHERE key = $1', [key(id)]);
        },
        sweep: () =>
          db.transaction(async (client) => {
            await client.query('DELETE FROM approver_sessions WHERE expires_at <= $1', [now()]);
            counts.sessions = await count(client, 'approver_sessions');
            return counts.sessions;
          }),
        /** As last counted here (a sign-in, a sweep); other replicas change it in between. */
        get size() {
          return counts.sessions;
        },
      },

      tokens: {
        issue: (input) =>
          db.transaction(async (client) => {
            const at = now();
            await client.query('DELETE FROM api_tokens WHERE expires_at <= $1', [at]);
            const issued = newApiToken(input, at);
            const { record } = issued;
            await client.query(
              `INSERT INTO api_tokens (hash, id, approver, created_at, expires_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6)`,
              [
                key(issued.token),
                record.id,
                record.principal.id,
                at,
                record.expiresAt,
                JSON.stringify(record),
              ],
            );
            await keepNewest(client, 'api_tokens', 'hash', limits.maxTokensPerApprover, record.principal.id);
            await keepNewest(client, 'api_tokens', 'hash', limits.maxTokens);
            counts.tokens = await count(client, 'api_tokens');
            return issued;
          }),
        async verify(token) {
          if (!token.startsWith(TOKEN_PREFIX)) return undefined;
          const { rows } = await db.query<{ doc: ApiToken }>(
            'SELECT doc FROM api_tokens WHERE hash = $1 AND expires_at > $2',
            [key(token), now()],
          );
          return rows[0]?.doc;
        },
        async revoke(id, principalId) {
          const { rowCount } = await db.query('DELETE FROM api_tokens WHERE id = $1 AND approver = $2', [
            id,
            principalId,
          ]);
          return rowCount === 1;
        },
        async revokeSecret(token) {
          const { rowCount } = await db.query('DELETE FROM api_tokens WHERE hash = $1', [key(token)]);
          return rowCount === 1;
        },
        async listFor(principalId) {
          const { rows } = await db.query<{ doc: ApiToken }>(
            `SELECT doc FROM api_tokens WHERE approver = $1 AND expires_at > $2 ORDER BY created_at, seq`,
            [principalId, now()],
          );
          return rows.map((r) => r.doc);
        },
        sweep: () =>
          db.transaction(async (client) => {
            await client.query('DELETE FROM api_tokens WHERE expires_at <= $1', [now()]);
            counts.tokens = await count(client, 'api_tokens');
          }),
        get size() {
          return counts.tokens;
        },
      },

      oidcTransactions: {
        put: (id, transaction) =>
          db.transaction(async (client) => {
            await client.query('DELETE FROM oidc_transactions WHERE expires_at <= $1', [now()]);
            await client.query('INSERT INTO oidc_transactions (key, expires_at, doc) VALUES ($1, $2, $3)', [
              key(id),
              transaction.expiresAt,
              JSON.stringify(transaction),
            ]);
            await client.query(
              `DELETE FROM oidc_transactions WHERE key IN (
                 SELECT key FROM oidc_transactions ORDER BY seq DESC OFFSET $1)`,
              [MAX_OIDC_TRANSACTIONS],
            );
          }),
        async take(id) {
          const { rows } = await db.query<{ doc: OidcTransaction }>(
            'DELETE FROM oidc_transactions WHERE key = $1 RETURNING doc',
            [key(id)],
          );
          return rows[0]?.doc;
        },
      },

      signInFailures: {
        async retryAfter(failureKey, limit) {
          const at = now();
          const { rows } = await db.query<{ at: string }>(
            'SELECT at FROM sign_in_failures WHERE key = $1 AND at > $2 ORDER BY at',
            [failureKey, at - limits.signInWindowMs],
          );
          return waitFor(
            rows.map((r) => Number(r.at)),
            limit,
            limits.signInWindowMs,
            at,
          );
        },
        recordFailure: (failureKey) =>
          db.transaction(async (client) => {
            const at = now();
            // Failures that left the window count for nobody any more.
            await client.query('DELETE FROM sign_in_failures WHERE at <= $1', [at - limits.signInWindowMs]);
            await client.query('INSERT INTO sign_in_failures (key, at) VALUES ($1, $2)', [failureKey, at]);
            counts.failures = Number(
              (await client.query<{ n: string }>('SELECT count(DISTINCT key) AS n FROM sign_in_failures'))
                .rows[0]!.n,
            );
          }),
        async reset(failureKey) {
          await db.query('DELETE FROM sign_in_failures WHERE key = $1', [failureKey]);
        },
        get size() {
          return counts.failures;
        },
      },
    };
  };
}
