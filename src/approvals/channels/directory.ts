import type { Identity } from '../request.js';
import type { DirectoryEntry } from './config.js';
import { approverFromSlack, type SlackClicker } from './slack/identity.js';
import { approverFromTeams } from './teams/identity.js';

/**
 * Who an approver is when a decision arrives through a channel other than the page: one person with
 * one id and one set of groups on every channel (approvers.directory, or else the local account of the
 * same id; the config refuses the two disagreeing). Channels resolve only ids taken from verified
 * evidence (a verified Teams activity, a signed Slack interaction, a signed webhook callback), never
 * from unverified input.
 */
export interface ApproverDirectory {
  /** The identity of a directory entry or local account with this id. */
  byId(id: string): Identity | undefined;
  /** The directory entry whose Teams account this is. */
  byTeamsAccount(aadObjectId: string, tenantId: string): Identity | undefined;
  /** The directory entry whose Slack account (member id in workspace or organization) clicked. */
  bySlackAccount(clicker: SlackClicker): Identity | undefined;
}

export function createDirectory(approvers: {
  directory: readonly DirectoryEntry[];
  accounts: readonly { id: string; groups: readonly string[] }[];
}): ApproverDirectory {
  const identity = (entry: { id: string; groups: readonly string[] }): Identity => ({
    id: entry.id,
    groups: [...entry.groups],
  });
  return {
    byId(id) {
      const entry =
        approvers.directory.find((e) => e.id === id) ?? approvers.accounts.find((a) => a.id === id);
      return entry && identity(entry);
    },
    byTeamsAccount: (aadObjectId, tenantId) =>
      approverFromTeams(approvers.directory, { aadObjectId, tenantId }),
    bySlackAccount: (clicker) => approverFromSlack(approvers.directory, clicker),
  };
}
