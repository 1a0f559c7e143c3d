import type { ApproverStateFactory } from '../approvals/web/approverState.js';
import type { Logger } from '../log.js';
import { openLowdbStore } from './lowdb.js';
import { isPostgresUrl, type PostgresSettings } from './postgres/options.js';
import type { PostgresStore } from './postgres/store.js';
import type { ApprovalStore } from './store.js';

/**
 * The store `approvals.store` names: PostgreSQL for a postgres:// URL, else the lowdb file. The
 * PostgreSQL client is loaded only when named, so that a stdio Gatehouse starts (and answers a client's
 * first request) without it.
 */
export async function openStore(
  approvals: { store: string; postgres: PostgresSettings },
  logger: Logger,
): Promise<ApprovalStore> {
  if (!isPostgresUrl(approvals.store)) return openLowdbStore(approvals.store);
  const { openPostgresStore } = await import('./postgres/store.js');
  return openPostgresStore({ url: approvals.store, settings: approvals.postgres, logger });
}

/**
 * Where the approval page keeps approvers' sessions, tokens and failed sign-ins: in the store when
 * replicas share it (every replica then knows them), else nothing (the page keeps them in memory).
 */
export function sharedApproverState(store: ApprovalStore): { approverState?: ApproverStateFactory } {
  const shared = (store as Partial<PostgresStore>).approverState;
  return shared ? { approverState: shared } : {};
}
