import type { ApproverStateFactory } from '../approvals/web/approverState.js';
import type { Logger } from '../log.js';
import { openLowdbStore } from './lowdb.js';
import { isPostgresUrl, type PostgresSettings } from './postgres/options.js';
import { openPostgresStore, type PostgresStore } from './postgres/store.js';
import type { ApprovalStore } from './store.js';

/** The store `approvals.store` names: PostgreSQL for a postgres:// URL, else the lowdb file. */
export function openStore(
  approvals: { store: string; postgres: PostgresSettings },
  logger: Logger,
): Promise<ApprovalStore> {
  return isPostgresUrl(approvals.store)
    ? openPostgresStore({ url: approvals.store, settings: approvals.postgres, logger })
    : openLowdbStore(approvals.store);
}

/**
 * Where the approval page keeps approvers' sessions, tokens and failed sign-ins: in the store when
 * replicas share it (every replica then knows them), else nothing (the page keeps them in memory).
 */
export function sharedApproverState(store: ApprovalStore): { approverState?: ApproverStateFactory } {
  const shared = (store as Partial<PostgresStore>).approverState;
  return shared ? { approverState: shared } : {};
}
