import type { Logger } from '../log.js';
import { openLowdbStore } from './lowdb.js';
import { isPostgresUrl, type PostgresSettings } from './postgres/options.js';
import { openPostgresStore } from './postgres/store.js';
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
