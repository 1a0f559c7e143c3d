import type { Logger } from '../../../log.js';
import type { ConnectorClient, ConnectorTarget } from './connector.js';

/**
 * The ids a card's `refresh.userIds` names, so that each approver's Teams client asks the bot for
 * their own view (with the buttons) without a click. Microsoft's User Specific Views take the users'
 * Teams ids as the conversation's roster gives them: the bot-scoped `29:…` ids, which Gatehouse does
 * not know from its directory (that holds Entra object ids). So each approver's id is looked up once in
 * the conversation (GET …/members/{objectId}) and kept: a user's id for one bot does not change. Every
 * activity from a user teaches it too. An approver who is not a member is left out (they cannot see the
 * card there), for a while; a lookup that fails falls back to the user's MRI, `8:orgid:<object id>`,
 * and is tried again on the next card.
 */

/** How long "not a member of this conversation" is believed before it is asked again. */
const ABSENT_MS = 10 * 60_000;

export interface MemberIds {
  /** The ids for these Entra object ids in `target`'s conversation, in their order. */
  idsFor(target: ConnectorTarget, objectIds: readonly string[], signal: AbortSignal): Promise<string[]>;
  /** A user's Teams id, from an activity they sent. */
  learn(objectId: string | undefined, teamsId: string): void;
}

export function createMemberIds(deps: {
  connector: Pick<ConnectorClient, 'member'>;
  logger: Logger;
  now?: () => number;
}): MemberIds {
  const now = deps.now ?? Date.now;
  const known = new Map<string, string>();
  const absentUntil = new Map<string, number>();
  const absentKey = (target: ConnectorTarget, objectId: string) => `${target.conversationId}\n${objectId}`;

  async function idFor(target: ConnectorTarget, objectId: string, signal: AbortSignal) {
    const id = known.get(objectId);
    if (id) return id;
    if ((absentUntil.get(absentKey(target, objectId)) ?? 0) > now()) return undefined;
    try {
      const member = await deps.connector.member(target, objectId, signal);
      if (!member) {
        absentUntil.set(absentKey(target, objectId), now() + ABSENT_MS);
        return undefined;
      }
      known.set(objectId, member.id);
      return member.id;
    } catch (error) {
      deps.logger.warn(
        { err: error, conversationId: target.conversationId, objectId },
        "Teams member lookup failed: the card's refresh names the approver by MRI instead",
      );
      return `8:orgid:${objectId}`;
    }
  }

  return {
    async idsFor(target, objectIds, signal) {
      const ids = await Promise.all(objectIds.map((objectId) => idFor(target, objectId, signal)));
      return ids.filter((id): id is string => id !== undefined);
    },
    learn(objectId, teamsId) {
      if (objectId && teamsId.startsWith('29:')) known.set(objectId.toLowerCase(), teamsId);
    },
  };
}
