import type { Identity } from '../../request.js';
import { isListed } from '../../states.js';
import { accountConflicts } from '../accounts.js';
import type { TeamsAccount } from './config.js';

/**
 * Who a Teams user is in Gatehouse: the `approvers.directory` entry whose Teams account (Entra object id
 * and tenant) is the one Teams reported on the verified activity. Nobody else: a display name, a UPN or
 * anything else in the activity never names an approver.
 */

/** A directory entry as the Teams channel reads it (`approvers.directory[]`). */
export interface DirectoryPerson {
  id: string;
  groups: readonly string[];
  teams?: TeamsAccount;
}

/** Entra ids are GUIDs, which Teams and the Entra portal may spell in either case. */
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function approverFromTeams(
  directory: readonly DirectoryPerson[],
  account: { aadObjectId: string | undefined; tenantId: string | undefined },
): Identity | undefined {
  const { aadObjectId, tenantId } = account;
  if (!aadObjectId || !tenantId) return undefined;
  const person = directory.find(
    (p) => p.teams && same(p.teams.aadObjectId, aadObjectId) && same(p.teams.tenantId, tenantId),
  );
  return person && { id: person.id, groups: [...person.groups] };
}

/**
 * The Entra object ids (lowercase) of the people of `tenantId` whom `approvers` lists, other than the
 * requester: whose Teams clients should refresh the card into their own view. Sorted, so a card is the
 * same however the directory is ordered.
 */
export function approverObjectIds(
  approvers: readonly string[],
  requesterId: string,
  directory: readonly DirectoryPerson[],
  tenantId: string,
): string[] {
  const requirement = { rule: 'refresh', approvers: [...approvers], quorum: 1 };
  return directory
    .filter((p) => p.teams && same(p.teams.tenantId, tenantId) && p.id !== requesterId)
    .filter((p) => isListed(requirement, p))
    .map((p) => p.teams!.aadObjectId.toLowerCase())
    .sort();
}

/**
 * Directory entries that give one Teams account to two people: a click by that account would count as
 * whichever comes first. For the config check (`approvers.directory`), with each later entry's index.
 */
export function teamsAccountConflicts(
  directory: readonly DirectoryPerson[],
): { index: number; message: string }[] {
  return accountConflicts(
    directory,
    (p) => p.teams && `${p.teams.tenantId.toLowerCase()}/${p.teams.aadObjectId.toLowerCase()}`,
    'Teams',
  );
}
