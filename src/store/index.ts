/** The store's public surface: one interface and its two implementations. */
export type { ApprovalStore, CreateResult, TransitionResult } from './store.js';
export { openLowdbStore } from './lowdb.js';
export { createMemoryStore } from './memory.js';
export { STORE_SCHEMA_VERSION } from './document.js';
export { unavailableStore } from './unavailable.js';
