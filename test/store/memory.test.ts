import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/store/memory.js';
import { approvalStoreContract } from './contract.js';
import { outboxStoreContract } from './outboxContract.js';
import { storedConversations } from '../../src/approvals/channels/teams/conversations.js';
import { sampleRequest } from './helpers.js';
import { conversationStoreContract } from './teamsConversationContract.js';

describe('memory store: the ApprovalStore contract', () => {
  approvalStoreContract(async () => createMemoryStore());
});

describe("memory store: the ApprovalStore contract for the channels' outbox", () => {
  outboxStoreContract(async () => createMemoryStore());
});

describe("memory store: the Teams bot's conversations", () => {
  conversationStoreContract(async () => {
    const store = storedConversations(createMemoryStore(), 'teams');
    return { store, reopen: async () => store };
  });
});

describe('memory store', () => {
  it('starts from given requests, validated like a store file', async () => {
    const store = createMemoryStore([sampleRequest(1), sampleRequest(2)]);
    expect((await store.list()).map((r) => r.id)).toEqual(['req-1', 'req-2']);
    expect(() => createMemoryStore([sampleRequest(1), sampleRequest(1)])).toThrow(/duplicate id/);
  });
});
