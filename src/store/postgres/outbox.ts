import type pg from 'pg';
import {
  CallbackTokenSchema,
  ConversationRecordSchema,
  stageOrder,
  type CallbackToken,
  type ChannelMemo,
  type ConversationRecord,
  type DeliveryRecord,
} from '../../approvals/channels/delivery.js';
import { emptyDocument, type StoreDocument } from '../document.js';
import * as rules from '../outbox.js';
import { conflict, parsed } from '../rules.js';
import type { ApprovalStore, ChannelDeliveryCounts, ClaimedDelivery } from '../store.js';
import type { Db } from './db.js';

type Outbox = Pick<
  ApprovalStore,
  | 'enqueueDeliveries'
  | 'listDeliveries'
  | 'claimDeliveries'
  | 'nextDeliveryDue'
  | 'deliveryCounts'
  | 'settleDelivery'
  | 'saveCallbackToken'
  | 'useCallbackToken'
  | 'releaseCallbackToken'
  | 'saveConversation'
  | 'removeConversation'
  | 'listConversations'
>;

/**
 * The channels' outbox in PostgreSQL. The rules are the file store's own (store/outbox.ts), applied to
 * the few rows a change touches, locked for the transaction; a claim takes due deliveries with
 * FOR UPDATE SKIP LOCKED, so replicas claiming at once each get different ones.
 */
export function postgresOutbox(db: Db): Outbox {
  const name = db.name;

  /** A document holding just these rows, for the pure rules. */
  const part = (rows: Partial<StoreDocument>): StoreDocument => ({ ...emptyDocument(), ...rows });

  async function writeDelivery(client: pg.ClientBase, d: DeliveryRecord): Promise<void> {
    await client.query(
      `UPDATE deliveries SET state = $2, next_attempt_at = $3, lease_until = $4, doc = $5 WHERE id = $1`,
      [d.id, d.state, d.nextAttemptAt, d.lease?.until ?? null, JSON.stringify(d)],
    );
  }

  async function writeTokens(client: pg.ClientBase, before: CallbackToken[], after: CallbackToken[]) {
    for (const [i, token] of after.entries()) {
      if (token === before[i]) continue;
      await client.query('UPDATE callback_tokens SET doc = $2 WHERE hash = $1', [
        token.hash,
        JSON.stringify(token),
      ]);
    }
  }

  /** The token with this hash and its siblings (one delivery's attempts), locked in one order. */
  async function siblings(client: pg.ClientBase, hash: string): Promise<CallbackToken[]> {
    const { rows } = await client.query<{ doc: CallbackToken }>(
      `SELECT doc FROM callback_tokens
        WHERE delivery_id = (SELECT delivery_id FROM callback_tokens WHERE hash = $1)
        ORDER BY hash FOR UPDATE`,
      [hash],
    );
    return rows.map((r) => r.doc);
  }

  return {
    enqueueDeliveries: (deliveries, now) =>
      db.transaction(async (client) => {
        const added: DeliveryRecord[] = [];
        for (const d of rules.enqueue(part({}), deliveries, now).value) {
          const { rowCount } = await client.query(
            `INSERT INTO deliveries (id, approval_id, channel, stage_order, state, next_attempt_at, doc)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
            [d.id, d.approvalId, d.channel, stageOrder(d.stage), d.state, d.nextAttemptAt, JSON.stringify(d)],
          );
          if (rowCount === 1) added.push(d);
        }
        return added;
      }),

    async listDeliveries(filter = {}) {
      const { rows } = await db.query<{ doc: DeliveryRecord }>(
        `SELECT doc FROM deliveries
          WHERE ($1::text IS NULL OR approval_id = $1) AND ($2::text[] IS NULL OR state = ANY($2))
          ORDER BY seq`,
        [filter.approvalId ?? null, filter.states ?? null],
      );
      return rows.map((r) => r.doc);
    },

    claimDeliveries: (owner, now, leaseMs, limit) =>
      db.transaction(async (client) => {
        // Due, not under a live lease, and the first pending one of its request on its channel.
        const { rows } = await client.query<{ doc: DeliveryRecord; memo: Record<string, string> | null }>(
          `SELECT d.doc, m.memo FROM deliveries d
             LEFT JOIN channel_memos m ON m.approval_id = d.approval_id AND m.channel = d.channel
            WHERE d.state = 'pending' AND d.next_attempt_at <= $1
              AND (d.lease_until IS NULL OR d.lease_until <= $1)
              AND NOT EXISTS (
                SELECT 1 FROM deliveries e
                 WHERE e.state = 'pending' AND e.approval_id = d.approval_id AND e.channel = d.channel
                   AND e.stage_order < d.stage_order)
            ORDER BY d.seq LIMIT $2
            FOR UPDATE OF d SKIP LOCKED`,
          [now, limit],
        );
        const lease = { owner, until: new Date(now.getTime() + leaseMs).toISOString() };
        const claimed: ClaimedDelivery[] = [];
        for (const { doc, memo } of rows) {
          const delivery = { ...doc, lease };
          await writeDelivery(client, delivery);
          claimed.push({ delivery, ...(memo ? { memo } : {}) });
        }
        return claimed;
      }),

    async nextDeliveryDue() {
      // In the order of the deliveries_due index (the same expression), from the earliest: the first
      // that is the first pending one of its request on its channel is the answer. What is skipped
      // is only deliveries queued behind another, which wait for one under way or put off.
      const { rows } = await db.query<{ due: Date }>(
        `SELECT greatest(d.next_attempt_at, coalesce(d.lease_until, '-infinity'::timestamptz)) AS due
           FROM deliveries d
          WHERE d.state = 'pending'
            AND NOT EXISTS (
              SELECT 1 FROM deliveries e
               WHERE e.state = 'pending' AND e.approval_id = d.approval_id AND e.channel = d.channel
                 AND e.stage_order < d.stage_order)
          ORDER BY greatest(d.next_attempt_at, coalesce(d.lease_until, '-infinity'::timestamptz))
          LIMIT 1`,
      );
      return rows[0]?.due;
    },

    async deliveryCounts() {
      // ISO times in UTC compare as text; among failures at the same time, the later enqueued one.
      const { rows } = await db.query<
        ChannelDeliveryCounts & { lastFailure: unknown; lastDeliveredAt: unknown }
      >(
        `SELECT channel,
                count(*) FILTER (WHERE state = 'pending')::int AS pending,
                count(*) FILTER (WHERE state = 'failed')::int AS failed,
                count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
                max(doc->>'deliveredAt') AS "lastDeliveredAt",
                (array_agg(json_build_object('at', doc->>'lastAttemptAt', 'message', doc->>'lastError')
                           ORDER BY doc->>'lastAttemptAt' DESC, seq DESC)
                   FILTER (WHERE doc->>'lastError' IS NOT NULL AND doc->>'lastAttemptAt' IS NOT NULL))[1]
                  AS "lastFailure"
           FROM deliveries GROUP BY channel ORDER BY channel COLLATE "C"`,
      );
      return rows.map(({ lastDeliveredAt, lastFailure, ...counted }) => ({
        ...counted,
        ...(lastDeliveredAt ? { lastDeliveredAt: lastDeliveredAt as string } : {}),
        ...(lastFailure ? { lastFailure: lastFailure as ChannelDeliveryCounts['lastFailure'] } : {}),
      }));
    },

    settleDelivery: (id, owner, settlement) =>
      db.transaction(async (client) => {
        const found = await client.query<{ doc: DeliveryRecord }>(
          'SELECT doc FROM deliveries WHERE id = $1 FOR UPDATE',
          [id],
        );
        const current = found.rows[0]?.doc;
        if (!current) throw conflict(name, `no delivery ${id}`);
        const memos = await client.query<ChannelMemo>(
          `SELECT approval_id AS "approvalId", channel, memo FROM channel_memos
            WHERE approval_id = $1 AND channel = $2 FOR UPDATE`,
          [current.approvalId, current.channel],
        );
        const before = part({ deliveries: [current], channelMemos: memos.rows });
        const { next, value } = rules.settle(before, id, owner, settlement, name);
        await writeDelivery(client, value);
        const memo = next.channelMemos[0];
        if (memo && memo !== before.channelMemos[0]) {
          await client.query(
            `INSERT INTO channel_memos (approval_id, channel, memo) VALUES ($1, $2, $3)
               ON CONFLICT (approval_id, channel) DO UPDATE SET memo = excluded.memo`,
            [memo.approvalId, memo.channel, JSON.stringify(memo.memo)],
          );
        }
        return value;
      }),

    async saveCallbackToken(token) {
      const valid = parsed(CallbackTokenSchema, token, 'callback token');
      const { rowCount } = await db.query(
        `INSERT INTO callback_tokens (hash, approval_id, delivery_id, doc) VALUES ($1, $2, $3, $4)
           ON CONFLICT (hash) DO NOTHING`,
        [valid.hash, valid.approvalId, valid.deliveryId, JSON.stringify(valid)],
      );
      if (rowCount !== 1) throw conflict(name, 'a callback token with this hash is kept already');
    },

    useCallbackToken: (hash, now) =>
      db.transaction(async (client) => {
        const tokens = await siblings(client, hash);
        const { next, value } = rules.useToken(part({ callbackTokens: tokens }), hash, now);
        await writeTokens(client, tokens, next.callbackTokens);
        return value;
      }),

    releaseCallbackToken: (hash) =>
      db.transaction(async (client) => {
        const tokens = await siblings(client, hash);
        const { next } = rules.releaseToken(part({ callbackTokens: tokens }), hash);
        await writeTokens(client, tokens, next.callbackTokens);
      }),

    async saveConversation(record) {
      const valid = parsed(ConversationRecordSchema, record, 'conversation reference');
      await db.query(
        `INSERT INTO conversations (channel, id, doc) VALUES ($1, $2, $3)
           ON CONFLICT (channel, id) DO UPDATE SET doc = excluded.doc`,
        [valid.channel, valid.id, JSON.stringify(valid)],
      );
    },

    async removeConversation(channel, id) {
      await db.query('DELETE FROM conversations WHERE channel = $1 AND id = $2', [channel, id]);
    },

    async listConversations(channel) {
      const { rows } = await db.query<{ doc: ConversationRecord }>(
        'SELECT doc FROM conversations WHERE channel = $1 ORDER BY seq',
        [channel],
      );
      return rows.map((r) => r.doc);
    },
  };
}
