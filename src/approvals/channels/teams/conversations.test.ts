import { describe } from 'vitest';
import { conversationStoreContract } from '../../../../test/store/teamsConversationContract.js';
import { createMemoryConversationStore } from './conversations.js';

describe('the memory TeamsConversationStore', () => {
  conversationStoreContract(async () => {
    const store = createMemoryConversationStore();
    return { store, reopen: async () => store };
  });
});
