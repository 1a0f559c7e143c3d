import type { QuarantinedRecord } from '../approvals/quarantine.js';
import type { ApprovalRequest } from '../approvals/request.js';
import { STORE_SCHEMA_VERSION, StoreDocumentSchema } from './document.js';
import { documentStore } from './documentStore.js';
import type { ApprovalStore } from './store.js';

/** An ApprovalStore that keeps nothing across restarts: for tests. Same rules as the file store; `archive` receives what it archives. */
export function createMemoryStore(
  requests: readonly ApprovalRequest[] = [],
  archive: ApprovalRequest[] = [],
  quarantined: readonly QuarantinedRecord[] = [],
): ApprovalStore {
  const initial = StoreDocumentSchema.parse({
    schemaVersion: STORE_SCHEMA_VERSION,
    approvals: requests,
    quarantined,
    deliveries: [],
    channelMemos: [],
    callbackTokens: [],
    conversations: [],
  });
  return documentStore(
    initial,
    {
      write: async () => {},
      archive: async (leaving) => void archive.push(...structuredClone(leaving)),
      close: async () => {},
    },
    'memory store',
  );
}
