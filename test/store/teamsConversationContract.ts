import { expect, it } from 'vitest';
import {
  storedConversations,
  type ConversationReference,
  type TeamsConversationStore,
} from '../../src/approvals/channels/teams/conversations.js';
import type { ApprovalStore } from '../../src/store/store.js';

/**
 * What every TeamsConversationStore must do, for each implementation to run (the memory one here; the
 * lowdb one in the store's tests): `make` returns a fresh, empty store, `reopen` the same data as a new
 * process would read it (memory stores return the same instance).
 */
export function conversationStoreContract(
  make: () => Promise<{ store: TeamsConversationStore; reopen: () => Promise<TeamsConversationStore> }>,
): void {
  const reference = (
    conversationId: string,
    extra: Partial<ConversationReference> = {},
  ): ConversationReference => ({
    appId: 'app-1',
    conversationId,
    conversationType: 'channel',
    tenantId: 'tenant-1',
    serviceUrl: 'https://smba.trafficmanager.net/teams',
    teamId: '19:team@thread.tacv2',
    updatedAt: '2026-11-30T16:00:00.000Z',
    ...extra,
  });

  it('saves, replaces by (appId, conversationId), lists per bot and removes', async () => {
    const { store, reopen } = await make();
    await store.save(reference('19:a@thread.tacv2'));
    await store.save(reference('19:b@thread.v2', { conversationType: 'groupChat' }));
    await store.save(reference('19:a@thread.tacv2', { appId: 'app-2' }));
    await store.save(reference('19:a@thread.tacv2', { serviceUrl: 'https://smba.trafficmanager.net/emea' }));
    const listed = await (await reopen()).list('app-1');
    expect(listed).toEqual([
      reference('19:b@thread.v2', { conversationType: 'groupChat' }),
      reference('19:a@thread.tacv2', { serviceUrl: 'https://smba.trafficmanager.net/emea' }),
    ]);
    await store.remove('app-1', '19:a@thread.tacv2');
    await store.remove('app-1', '19:never@thread.v2');
    expect((await (await reopen()).list('app-1')).map((r) => r.conversationId)).toEqual(['19:b@thread.v2']);
    expect((await store.list('app-2')).map((r) => r.conversationId)).toEqual(['19:a@thread.tacv2']);
  });

  it('refuses a reference that is not one', async () => {
    const { store } = await make();
    await expect(store.save({ ...reference('x'), serviceUrl: 'not a url' })).rejects.toThrow();
    await expect(
      store.save({ ...reference('x'), unexpected: true } as ConversationReference),
    ).rejects.toThrow();
    expect(await store.list('app-1')).toEqual([]);
  });
}

/**
 * `make` for a store that persists: the conversation store over a store that `open` opens, and a
 * reopen that closes it and opens it again, as a restarted process would.
 */
export function reopening(open: () => Promise<ApprovalStore>) {
  return async () => {
    let current = await open();
    return {
      store: storedConversations(
        {
          saveConversation: (r) => current.saveConversation(r),
          removeConversation: (c, id) => current.removeConversation(c, id),
          listConversations: (c) => current.listConversations(c),
        },
        'teams',
      ),
      reopen: async () => {
        await current.close();
        current = await open();
        return storedConversations(current, 'teams');
      },
    };
  };
}
