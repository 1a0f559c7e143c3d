import type pg from 'pg';
import type { ApprovalRequest } from '../../approvals/request.js';
import { callKeyOf } from '../callKey.js';

/** How many rows one round of `fillCallKeys` reads and writes. */
const BATCH = 500;

type Query = <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * Sets `call_key` on the requests that have none: every request when migration 8 adds the column, and
 * afterwards those an older Gatehouse (one still running during an upgrade) wrote without it. The key
 * is derived from the stored request, in Node: the database cannot compute RFC 8785 canonical JSON.
 * The update leaves the revision as it is, so the change feed does not report it as a change.
 */
export async function fillCallKeys(query: Query): Promise<void> {
  for (;;) {
    const { rows } = await query<{ id: string; doc: ApprovalRequest }>(
      'SELECT id, doc FROM approvals WHERE call_key IS NULL ORDER BY seq LIMIT $1',
      [BATCH],
    );
    if (rows.length === 0) return;
    await query(
      `UPDATE approvals AS a SET call_key = k.call_key
         FROM unnest($1::text[], $2::text[]) AS k(id, call_key)
        WHERE a.id = k.id AND a.call_key IS NULL`,
      [rows.map((r) => r.id), rows.map((r) => keyOf(r.doc))],
    );
    if (rows.length < BATCH) return;
  }
}

/**
 * A row whose document has no call to key (altered by hand) gets a key no call has, rather than stop
 * the migration or every later lookup: it matches nothing, as it would have matched nothing before.
 */
function keyOf(doc: ApprovalRequest): string {
  try {
    return callKeyOf(doc);
  } catch {
    return 'none';
  }
}
