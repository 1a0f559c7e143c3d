import type { Identity } from '../../request.js';
import { accountConflicts } from '../accounts.js';
import type { SlackAccount } from './config.js';

/**
 * Who a Slack user is in Gatehouse: the `approvers.directory` entry whose Slack account (member id and
 * workspace id) is the one on the verified interaction payload. Nothing else on the payload (a display
 * name, a username, an email) ever names an approver. Slack ids are upper-case and compared exactly.
 */

/** A directory entry as the Slack channel reads it (`approvers.directory[]`). */
export interface SlackDirectoryPerson {
  id: string;
  groups: readonly string[];
  slack?: SlackAccount;
}

export function approverFromSlack(
  directory: readonly SlackDirectoryPerson[],
  account: { userId: string | undefined; teamId: string | undefined },
): Identity | undefined {
  const { userId, teamId } = account;
  if (!userId || !teamId) return undefined;
  const person = directory.find((p) => p.slack?.userId === userId && p.slack.teamId === teamId);
  return person && { id: person.id, groups: [...person.groups] };
}

/** The Slack member id of the directory entry `id`, to mention them; undefined when they have none. */
export function slackUserOf(directory: readonly SlackDirectoryPerson[], id: string): string | undefined {
  return directory.find((p) => p.id === id)?.slack?.userId;
}

/** Directory entries that give one Slack account to two people (for the config check). */
export function slackAccountConflicts(
  directory: readonly SlackDirectoryPerson[],
): { index: number; message: string }[] {
  return accountConflicts(directory, (p) => p.slack && `${p.slack.teamId}/${p.slack.userId}`, 'Slack');
}
