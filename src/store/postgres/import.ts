import type pg from 'pg';
import { stageOrder } from '../../approvals/channels/delivery.js';
import type { ApprovalRequest } from '../../approvals/request.js';
import { endedAt } from '../../approvals/states.js';
import { GatehouseError } from '../../errors.js';
import { callKeyOf } from '../callKey.js';
import type { StoreDocument } from '../document.js';

export interface ImportSummary {
  approvals: number;
  archived: number;
  quarantined: number;
  deliveries: number;
  callbackTokens: number;
  conversations: number;
}

/**
 * Writes a whole file store (a validated, current document and its archive) into an empty schema, in
 * one transaction: all of it or nothing. Requests keep their order, states, decisions and executions;
 * one still `executing` carries no lease, so the first replica to start records it `unknown`, as the
 * file store's next start would have.
 */
export async function importDocument(
  client: pg.ClientBase,
  name: string,
  document: StoreDocument,
  archived: readonly ApprovalRequest[],
): Promise<ImportSummary> {
  // Only this import writes until it commits; a replica starting meanwhile waits for the lock.
  await client.query('LOCK TABLE approvals, approvals_archive IN EXCLUSIVE MODE');
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM approvals) OR EXISTS (SELECT 1 FROM approvals_archive)
         OR EXISTS (SELECT 1 FROM quarantined) OR EXISTS (SELECT 1 FROM deliveries)
         OR EXISTS (SELECT 1 FROM conversations) AS held`,
  );
  if (rows[0]?.held) {
    throw new GatehouseError(
      'STORE_CONFLICT',
      `${name}: the database already holds approval requests; a store is imported into an empty schema only`,
      { store: name },
    );
  }
  const insert = (sql: string, values: unknown[]) => client.query(sql, values);
  for (const r of archived) {
    await insert('INSERT INTO approvals_archive (id, doc) VALUES ($1, $2)', [r.id, JSON.stringify(r)]);
  }
  for (const r of document.approvals) {
    await insert(
      `INSERT INTO approvals (id, digest, state, ended_at, expires_at, doc, call_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [r.id, r.digest, r.state, endedAt(r) ?? null, r.expiresAt, JSON.stringify(r), callKeyOf(r)],
    );
  }
  for (const q of document.quarantined) {
    await insert('INSERT INTO quarantined (id, doc) VALUES ($1, $2)', [q.id, JSON.stringify(q)]);
  }
  for (const d of document.deliveries) {
    await insert(
      `INSERT INTO deliveries (id, approval_id, channel, stage_order, state, next_attempt_at, doc)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [d.id, d.approvalId, d.channel, stageOrder(d.stage), d.state, d.nextAttemptAt, JSON.stringify(d)],
    );
  }
  for (const m of document.channelMemos) {
    await insert('INSERT INTO channel_memos (approval_id, channel, memo) VALUES ($1, $2, $3)', [
      m.approvalId,
      m.channel,
      JSON.stringify(m.memo),
    ]);
  }
  for (const t of document.callbackTokens) {
    await insert(
      'INSERT INTO callback_tokens (hash, approval_id, delivery_id, doc) VALUES ($1, $2, $3, $4)',
      [t.hash, t.approvalId, t.deliveryId, JSON.stringify(t)],
    );
  }
  for (const c of document.conversations) {
    await insert('INSERT INTO conversations (channel, id, doc) VALUES ($1, $2, $3)', [
      c.channel,
      c.id,
      JSON.stringify(c),
    ]);
  }
  return {
    approvals: document.approvals.length,
    archived: archived.length,
    quarantined: document.quarantined.length,
    deliveries: document.deliveries.length,
    callbackTokens: document.callbackTokens.length,
    conversations: document.conversations.length,
  };
}
