import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDecision, startExecution } from '../src/approvals/states.js';
import { silentLogger } from '../src/log.js';
import { callKeyOf } from '../src/store/callKey.js';
import { openLowdbStore } from '../src/store/lowdb.js';
import { PostgresSettingsSchema } from '../src/store/postgres/options.js';
import { openPostgresStore } from '../src/store/postgres/store.js';
import { GATEHOUSE_BIN } from './helpers/paths.js';
import { usePostgres } from './helpers/postgres.js';
import { runToExit } from './helpers/processes.js';
import { at, bob, sampleRequest } from './store/helpers.js';

/** `gatehouse store migrate`: a one-machine store file moves into PostgreSQL, as an operator runs it. */

const postgres = usePostgres();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-migrate-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
const gatehouse = (args: string[], extra: Record<string, string> = {}) =>
  runToExit(process.execPath, ['--import', 'tsx', GATEHOUSE_BIN, ...args], { ...env, ...extra });
const approve = (r: Parameters<typeof applyDecision>[0]) =>
  applyDecision(r, { approver: bob, decision: 'approve' }, at(1000));

const callKeys = (schema: string): Promise<(string | null)[]> =>
  postgres.withClient(async (client) => {
    const { rows } = await client.query<{ key: string | null }>(
      `SELECT call_key AS key FROM ${schema}.approvals ORDER BY seq`,
    );
    return rows.map((r) => r.key);
  });

describe('gatehouse store migrate', () => {
  it('imports every request, the archive and the outbox into an empty schema, once', async () => {
    const file = join(dir, 'store.json');
    const lowdb = await openLowdbStore(file);
    for (const n of [1, 2, 3, 4]) await lowdb.create(sampleRequest(n));
    await lowdb.transition('req-2', 'pending', approve);
    await lowdb.transition('req-3', 'pending', approve);
    await lowdb.transition('req-3', 'approved', (r) => startExecution(r, at(2000)));
    await lowdb.transition('req-4', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'reject', reason: 'no' }, at(1000)),
    );
    await lowdb.archiveFinished(at(5000));
    await lowdb.enqueueDeliveries([{ approvalId: 'req-1', channel: 'hooks', stage: 'requested' }], at(0));
    const before = await lowdb.list();
    await lowdb.close();
    const config = join(dir, 'mcp.config.json');
    await writeFile(
      config,
      JSON.stringify({
        approvals: { store: '${PG_URL}', postgres: { schema: 'imported', tls: { mode: 'disable' } } },
      }),
    );

    const run = await gatehouse(['store', 'migrate', '--from', file, '--config', config], {
      PG_URL: postgres.url,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /imported .* into postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres \(schema imported\): 3 requests, 1 archived/,
    );
    expect(run.stdout).not.toContain(postgres.url.split('@')[0]!.split(':').at(-1)!);

    const settings = PostgresSettingsSchema.parse({ schema: 'imported', tls: { mode: 'disable' } });
    const store = await openPostgresStore({ url: postgres.url, settings, logger: silentLogger });
    try {
      expect(await store.list()).toEqual(before);
      // Each with the key of its call, written by the import (not left for a lookup to fill).
      expect(await callKeys('imported')).toEqual(before.map(callKeyOf));
      expect(await store.get('req-4')).toBeUndefined();
      expect((await store.listDeliveries()).map((d) => d.id)).toEqual(['req-1/hooks/requested']);
      // What was executing when the file store stopped is held by nobody: recovery records it unknown.
      expect((await store.abandonedExecutions()).map((r) => r.id)).toEqual(['req-3']);
    } finally {
      await store.close();
    }

    // A second import would mix two stores: refused, and nothing changes.
    const again = await gatehouse(
      ['store', 'migrate', '--from', file, '--to', '${PG_URL}', '--config', config],
      {
        PG_URL: postgres.url,
      },
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already holds approval requests');
    expect(again.stderr).not.toMatch(/\n\s+at /);
  });

  it('needs a postgres:// URL', async () => {
    const run = await gatehouse([
      'store',
      'migrate',
      '--from',
      join(dir, 'x.json'),
      '--to',
      join(dir, 'y.json'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--to: give the postgres:// URL');
  });
});
