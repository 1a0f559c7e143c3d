import { afterEach, describe, expect, it } from 'vitest';
import { applyDecision } from '../../src/approvals/states.js';
import { silentLogger } from '../../src/log.js';
import { callKeyOf } from '../../src/store/callKey.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from '../../src/store/postgres/migrations.js';
import { PostgresSettingsSchema } from '../../src/store/postgres/options.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { usePostgres } from '../helpers/postgres.js';
import { at, bob, refusal, sampleRequest } from './helpers.js';

const postgres = usePostgres();
let schemas = 0;
const opened: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function open(schema: string) {
  const settings = PostgresSettingsSchema.parse({ schema, tls: { mode: 'disable' } });
  const store = await openPostgresStore({ url: postgres.url, settings, logger: silentLogger });
  opened.push(store);
  return store;
}

const versions = (schema: string) =>
  postgres.withClient(async (c) =>
    (
      await c.query<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`)
    ).rows.map((r) => r.version),
  );

const callKeys = (schema: string) =>
  postgres.withClient(async (c) =>
    (await c.query<{ key: string }>(`SELECT call_key AS key FROM ${schema}.approvals`)).rows.map(
      (r) => r.key,
    ),
  );

describe('PostgreSQL store: schema migrations', () => {
  it('numbers its migrations 1, 2, 3, ... without gaps', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });

  // Every version a database can be at, with a request written the way that version stores it.
  for (let from = 0; from <= SCHEMA_VERSION; from++) {
    it(`upgrades a database at version ${from} and keeps what it holds`, async () => {
      const schema = `m${++schemas}`;
      const request = sampleRequest(1);
      await postgres.withClient(async (client) => {
        await migrate(client, schema, 'test', MIGRATIONS, from);
        if (from >= 6) {
          await client.query(
            `INSERT INTO ${schema}.approvals (id, digest, state, expires_at, doc) VALUES ($1, $2, $3, $4, $5)`,
            [request.id, request.digest, request.state, request.expiresAt, JSON.stringify(request)],
          );
        } else if (from >= 1) {
          await client.query(
            `INSERT INTO ${schema}.approvals (id, digest, state, doc) VALUES ($1, $2, $3, $4)`,
            [request.id, request.digest, request.state, JSON.stringify(request)],
          );
        }
      });
      const store = await open(schema);
      expect(await versions(schema)).toEqual(MIGRATIONS.map((m) => m.version));
      if (from >= 1) expect(await store.get('req-1')).toEqual(request);
      else await store.create(request);
      // Its expiry is known to the sweep, whichever version wrote it.
      expect(await store.nextExpiry()).toEqual(new Date(request.expiresAt));
      // And its call to the lookup for a changed tool: backfilled by migration 8, or (written without
      // it at the latest version, as an older Gatehouse still running would) filled by the lookup.
      const otherDefinition = { ...request, toolDefinitionDigest: 'f'.repeat(64) };
      expect((await store.latestWithOtherDefinition(otherDefinition))?.id).toBe('req-1');
      expect(await callKeys(schema)).toEqual([callKeyOf(request)]);
      const approved = await store.transition('req-1', 'pending', (r) =>
        applyDecision(r, { approver: bob, decision: 'approve' }, at(1000)),
      );
      expect(approved.ok).toBe(true);
      await store.enqueueDeliveries([{ approvalId: 'req-1', channel: 'hooks', stage: 'requested' }], at(0));
      expect(await store.claimDeliveries('w', at(1), 1000, 5)).toHaveLength(1);
    });
  }

  it("backfills every request's call key in batches, and one a document without a call gets none", async () => {
    const schema = `m${++schemas}`;
    const keys = await postgres.withClient(async (client) => {
      await migrate(client, schema, 'test', MIGRATIONS, 7);
      // More rows than one round of the backfill takes, as the version before wrote them.
      await client.query(
        `INSERT INTO ${schema}.approvals (id, digest, state, expires_at, doc)
           SELECT 'r' || n, 'digest ' || n, 'rejected', now(),
                  json_build_object('caller', json_build_object('id', 'alice'), 'server', 'fs',
                                    'tool', 'write_file', 'arguments', json_build_object('n', n))
             FROM generate_series(1, 1234) AS n`,
      );
      await client.query(
        `INSERT INTO ${schema}.approvals (id, digest, state, expires_at, doc)
           VALUES ('altered', 'x', 'rejected', now(), '{"tool": 1}')`,
      );
      await migrate(client, schema, 'test');
      const { rows } = await client.query<{ id: string; key: string | null }>(
        `SELECT id, call_key AS key FROM ${schema}.approvals`,
      );
      return new Map(rows.map((r) => [r.id, r.key]));
    });
    expect(keys.size).toBe(1235);
    const call = (n: number) => ({
      caller: { id: 'alice', groups: [] },
      server: 'fs',
      tool: 'write_file',
      arguments: { n },
    });
    for (const n of [1, 500, 501, 1000, 1001, 1234]) expect(keys.get(`r${n}`)).toBe(callKeyOf(call(n)));
    expect(new Set(keys.values()).size).toBe(1235);
    expect(keys.get('altered')).toBe('none');
  });

  it('migrates once when replicas start together', async () => {
    const schema = `m${++schemas}`;
    const stores = await Promise.all(Array.from({ length: 5 }, () => open(schema)));
    expect(stores).toHaveLength(5);
    expect(await versions(schema)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('refuses a schema a newer Gatehouse migrated, and changes nothing', async () => {
    const schema = `m${++schemas}`;
    await (await open(schema)).close();
    await postgres.withClient((c) =>
      c.query(`INSERT INTO ${schema}.schema_migrations (version, name) VALUES (99, 'from the future')`),
    );
    const error = await refusal(open(schema));
    expect(error.code).toBe('STORE_VERSION_UNSUPPORTED');
    expect(error.message).toContain(`schema ${schema} is at version 99`);
    expect(error.message).not.toMatch(/password|:[0-9a-f]{24}@/);
  });
});
