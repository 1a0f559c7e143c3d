import { afterAll, describe } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { PostgresSettingsSchema } from '../../src/store/postgres/options.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { usePostgres } from '../helpers/postgres.js';
import { approverStateContract } from './approverStateContract.js';
import { approvalStoreContract } from './contract.js';
import { outboxStoreContract } from './outboxContract.js';
import { conversationStoreContract, reopening } from './teamsConversationContract.js';

const postgres = usePostgres();
let schemas = 0;
const opened: PostgresStore[] = [];
afterAll(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

/** A store on a schema of its own: every test starts from an empty, freshly migrated database. */
async function freshStore(): Promise<PostgresStore> {
  const settings = PostgresSettingsSchema.parse({ schema: `s${++schemas}`, tls: { mode: 'disable' } });
  const store = await openPostgresStore({ url: postgres.url, settings, logger: silentLogger });
  opened.push(store);
  return store;
}

describe('PostgreSQL store: the ApprovalStore contract', () => {
  approvalStoreContract(freshStore);
});

describe("PostgreSQL store: the ApprovalStore contract for the channels' outbox", () => {
  outboxStoreContract(freshStore);
});

describe("PostgreSQL store: the Teams bot's conversations, across a restart", () => {
  conversationStoreContract(() => {
    const settings = PostgresSettingsSchema.parse({ schema: `s${++schemas}`, tls: { mode: 'disable' } });
    return reopening(() => openPostgresStore({ url: postgres.url, settings, logger: silentLogger }))();
  });
});

describe("PostgreSQL store: approvers' sessions, API tokens and failed sign-ins", () => {
  approverStateContract(async (limits) => (await freshStore()).approverState(limits));
});
