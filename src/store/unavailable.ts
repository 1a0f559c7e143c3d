import type { GatehouseError } from '../errors.js';
import type { ApprovalStore } from './store.js';

/**
 * The store of a stdio Gatehouse that could not open its file (another Gatehouse holds it: a second
 * client launched the same config). It holds nothing and refuses every write with the reason, so a
 * gated call fails closed with that reason while allowed and denied calls go on: on stdio the MCP
 * session matters more than approvals, as it does more than the status listener.
 */
export function unavailableStore(reason: GatehouseError): ApprovalStore {
  const refuse = async (): Promise<never> => {
    throw reason;
  };
  return {
    create: refuse,
    transition: refuse,
    get: async () => undefined,
    findByDigest: async () => undefined,
    latestWithOtherDefinition: async () => undefined,
    list: async () => [],
    listPage: async () => ({ requests: [] }),
    latestChanged: async () => [],
    expiredBy: async () => [],
    nextExpiry: async () => undefined,
    quarantined: async () => [],
    abandonedExecutions: async () => [],
    archiveFinished: async () => [],
    close: async () => {},
    // Nothing is ever requested here, so nothing is ever owed to a channel.
    enqueueDeliveries: async () => [],
    listDeliveries: async () => [],
    claimDeliveries: async () => [],
    nextDeliveryDue: async () => undefined,
    deliveryCounts: async () => [],
    settleDelivery: refuse,
    saveCallbackToken: refuse,
    useCallbackToken: async () => ({ ok: false, reason: 'unknown' }),
    releaseCallbackToken: async () => {},
    saveConversation: refuse,
    removeConversation: refuse,
    listConversations: async () => [],
  };
}
