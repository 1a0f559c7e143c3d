/** The store's public surface: one interface, its implementations, and the one the config names. */
export type { ApprovalStore, CreateResult, TransitionResult } from './store.js';
export { openLowdbStore } from './lowdb.js';
export { openStore, sharedApproverState } from './open.js';
export { createMemoryStore } from './memory.js';
export { STORE_SCHEMA_VERSION } from './document.js';
export { unavailableStore } from './unavailable.js';
