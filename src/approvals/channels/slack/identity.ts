import type { Identity } from '../../request.js';
import { accountConflicts } from '../accounts.js';
import type { SlackAccount } from './config.js';

/**
 * Who a Slack user is in Gatehouse: the `approvers.directory` entry whose Slack account is the one on
 * the verified interaction payload. An account is a member id in a workspace (`teamId`) or, for an app
 * deployed to an Enterprise organization, in the organization (`enterpriseId`), where member ids are
 * unique across its workspaces. Nothing else on the payload (a display name, a username, an email)
 * ever names an approver. Slack ids are upper-case and compared exactly.
 */

/** A directory entry as the Slack channel reads it (`approvers.directory[]`). */
export interface SlackDirectoryPerson {
  id: string;
  groups: readonly string[];
  slack?: SlackAccount;
}

/** The account a verified interaction names: its user, their workspace, and their organization if any. */
export interface SlackClicker {
  userId: string;
  teamId?: string;
  enterpriseId?: string;
}

/** The parts of an interaction payload that say who clicked and where. */
export interface SlackPayloadParties {
  user: { id: string; team_id?: unknown };
  team?: { id: string; enterprise_id?: unknown } | null;
  enterprise?: { id: string } | null;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** The id if it is an Enterprise organization's (E…), not a workspace's (T…). */
const organization = (id: string | undefined) => (id?.startsWith('E') ? id : undefined);

/**
 * The clicker of a payload: where their account lives, not where they clicked. The workspace is the
 * user's `team_id` when it names one (T…), else `team.id`, the workspace of the click (an organization
 * member's account is in all of its workspaces). The organization is the user's own: Slack reports an
 * organization member's `team_id` as the organization's id (E…), and a workspace there (T…) says the
 * user belongs to no organization, even when they click in one's conversation (Slack Connect). Only a
 * payload without the user's `team_id` is read for the organization it came from (`enterprise.id`,
 * then `team.enterprise_id`).
 */
export function slackClicker(payload: SlackPayloadParties): SlackClicker {
  const home = text(payload.user.team_id);
  const where = home && !organization(home) ? home : payload.team?.id;
  const enterpriseId =
    home !== undefined ? organization(home) : (payload.enterprise?.id ?? text(payload.team?.enterprise_id));
  return {
    userId: payload.user.id,
    ...(where && !organization(where) ? { teamId: where } : {}),
    ...(enterpriseId ? { enterpriseId } : {}),
  };
}

/**
 * The one directory entry whose account the clicker is. Two entries matching one click (a member id
 * given in its workspace and in its organization to two people) count as nobody: a click never counts
 * as whichever entry comes first.
 */
export function approverFromSlack(
  directory: readonly SlackDirectoryPerson[],
  clicker: SlackClicker,
): Identity | undefined {
  const matches = directory.filter(
    ({ slack }) =>
      slack?.userId === clicker.userId &&
      (slack.enterpriseId !== undefined
        ? slack.enterpriseId === clicker.enterpriseId
        : slack.teamId === clicker.teamId),
  );
  const person = matches.length === 1 ? matches[0]! : undefined;
  return person && { id: person.id, groups: [...person.groups] };
}

/**
 * For the log, when a click counted as nobody although the directory lists its member id: where the
 * entry puts that account and where the click's account lives. An app deployed to a whole
 * organization names no workspace, so an entry given by `teamId` never matches its clicks.
 */
export function slackMismatch(
  directory: readonly SlackDirectoryPerson[],
  clicker: SlackClicker,
): string | undefined {
  const entry = directory.find((p) => p.slack?.userId === clicker.userId);
  if (!entry?.slack) return undefined;
  const { teamId, enterpriseId } = entry.slack;
  const places = [
    clicker.teamId && `workspace ${clicker.teamId}`,
    clicker.enterpriseId && `organization ${clicker.enterpriseId}`,
  ].filter(Boolean);
  const advice =
    teamId && clicker.enterpriseId && !clicker.teamId
      ? `; the app is deployed to the whole organization, whose clicks name no workspace: give "${entry.id}"'s account as "enterpriseId": "${clicker.enterpriseId}"`
      : '';
  return (
    `member id ${clicker.userId} is "${entry.id}"'s in ${enterpriseId ? `organization ${enterpriseId}` : `workspace ${teamId}`}, ` +
    `but the click's account is in ${places.join(' of ') || 'no workspace or organization'}${advice}`
  );
}

/** The Slack member id of the directory entry `id`, to mention them; undefined when they have none. */
export function slackUserOf(directory: readonly SlackDirectoryPerson[], id: string): string | undefined {
  return directory.find((p) => p.id === id)?.slack?.userId;
}

/**
 * Directory entries that give one Slack account to two people (for the config check): the same member
 * id in the same workspace or organization, or one member id in a workspace for one person and in an
 * organization for another. The config cannot tell whether that workspace belongs to that
 * organization; if it does, a click from it would be both people's.
 */
export function slackAccountConflicts(
  directory: readonly SlackDirectoryPerson[],
): { index: number; message: string }[] {
  const conflicts = accountConflicts(
    directory,
    (p) => p.slack && `${p.slack.enterpriseId ?? p.slack.teamId}/${p.slack.userId}`,
    'Slack',
  );
  directory.forEach((person, index) => {
    const account = person.slack;
    if (!account || conflicts.some((c) => c.index === index)) return;
    const other = directory
      .slice(0, index)
      .find(
        (p) =>
          p.id !== person.id &&
          p.slack?.userId === account.userId &&
          (p.slack.enterpriseId === undefined) !== (account.enterpriseId === undefined),
      );
    if (!other) return;
    const where = (a: SlackAccount) =>
      a.enterpriseId ? `organization ${a.enterpriseId}` : `workspace ${a.teamId}`;
    conflicts.push({
      index,
      message:
        `member id ${account.userId} is also "${other.id}"'s, in ${where(other.slack!)}: a click from a ` +
        'workspace of that organization would count as both; give the account to one approver',
    });
  });
  return conflicts.sort((a, b) => a.index - b.index);
}
