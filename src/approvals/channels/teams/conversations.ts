import type { ApprovalStore } from '../../../store/store.js';
import { z } from 'zod';

/**
 * Where a Teams bot can post: what Gatehouse learns when the bot is installed in a team, a group chat or
 * a personal chat (only from activities whose token was verified). Cards go only to the conversations
 * the config names; a learned reference supplies the `serviceUrl` to reach one of them, and its id is
 * logged at installation so an operator can add it to the config.
 */
export const ConversationReferenceSchema = z.strictObject({
  /** The bot's Microsoft App ID: a reference belongs to one bot. */
  appId: z.string().min(1),
  /** `19:…@thread.tacv2` for a team's channel, `19:…@thread.v2` for a group chat, `a:…` for a personal chat. */
  conversationId: z.string().min(1),
  conversationType: z.enum(['channel', 'groupChat', 'personal']).optional(),
  tenantId: z.string().min(1),
  /** The Bot Connector endpoint for this conversation, as the verified token's `serviceurl` claim named it. */
  serviceUrl: z.url({ protocol: /^https?$/ }),
  /** For a team: the team's id (its General channel's conversation id). */
  teamId: z.string().min(1).optional(),
  /** When this reference was learned or last refreshed. */
  updatedAt: z.iso.datetime({ offset: true }),
});
export type ConversationReference = z.infer<typeof ConversationReferenceSchema>;

/**
 * Durable storage of conversation references (the channels helper persists them in the lowdb store;
 * a memory implementation serves tests). Keyed by (appId, conversationId).
 */
export interface TeamsConversationStore {
  /** Inserts or replaces the reference for its (appId, conversationId). */
  save(reference: ConversationReference): Promise<void>;
  /** Forgets a conversation the bot was removed from; nothing when unknown. */
  remove(appId: string, conversationId: string): Promise<void>;
  /** Every reference of this bot, least recently saved first. */
  list(appId: string): Promise<ConversationReference[]>;
}

export function createMemoryConversationStore(
  initial: readonly ConversationReference[] = [],
): TeamsConversationStore {
  const key = (appId: string, conversationId: string) => JSON.stringify([appId, conversationId]);
  const references = new Map<string, ConversationReference>();
  for (const reference of initial) references.set(key(reference.appId, reference.conversationId), reference);
  return {
    async save(reference) {
      const parsed = ConversationReferenceSchema.parse(reference);
      const id = key(parsed.appId, parsed.conversationId);
      // Re-inserted, so `list` stays in order of the latest change.
      references.delete(id);
      references.set(id, parsed);
    },
    async remove(appId, conversationId) {
      references.delete(key(appId, conversationId));
    },
    async list(appId) {
      return [...references.values()].filter((r) => r.appId === appId).map((r) => ({ ...r }));
    },
  };
}

/**
 * The bot's references kept in the approval store (for `channel`, the instance name), so they survive
 * restarts. A reference saved again moves to the end, as `list`'s order promises.
 */
export function storedConversations(
  store: Pick<ApprovalStore, 'saveConversation' | 'removeConversation' | 'listConversations'>,
  channel: string,
  now: () => Date = () => new Date(),
): TeamsConversationStore {
  const idOf = (appId: string, conversationId: string) => JSON.stringify([appId, conversationId]);
  return {
    async save(reference) {
      const parsed = ConversationReferenceSchema.parse(reference);
      const id = idOf(parsed.appId, parsed.conversationId);
      await store.removeConversation(channel, id);
      await store.saveConversation({ channel, id, reference: parsed, savedAt: now().toISOString() });
    },
    remove: (appId, conversationId) => store.removeConversation(channel, idOf(appId, conversationId)),
    async list(appId) {
      return (await store.listConversations(channel))
        .map((record) => ConversationReferenceSchema.parse(record.reference))
        .filter((reference) => reference.appId === appId);
    },
  };
}
