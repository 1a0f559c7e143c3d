import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import { markAbandoned } from '../../src/approvals/recovery.js';
import { applyDecision, markUnknown, startExecution } from '../../src/approvals/states.js';
import { silentLogger } from '../../src/log.js';
import { PostgresSettingsSchema, type PostgresSettings } from '../../src/store/postgres/options.js';
import { openDb, type Db } from '../../src/store/postgres/db.js';
import { startFeed } from '../../src/store/postgres/feed.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { eventually } from '../helpers/processes.js';
import { usePostgres } from '../helpers/postgres.js';
import { at, bob, refusal, sampleRequest } from './helpers.js';

const postgres = usePostgres();
let schemas = 0;
const opened: PostgresStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

/** `count` replicas of one Gatehouse on one fresh schema: each its own pool, leases and feed. */
async function replicas(count: number, overrides: Partial<PostgresSettings> = {}) {
  const schema = `r${++schemas}`;
  const stores: PostgresStore[] = [];
  for (let i = 0; i < count; i++) {
    const settings = PostgresSettingsSchema.parse({
      schema,
      tls: { mode: 'disable' },
      replica: `replica-${i}`,
      leaseMs: 1_000,
      pollIntervalMs: 200,
      ...overrides,
    });
    stores.push(await openPostgresStore({ url: postgres.url, settings, logger: silentLogger }));
  }
  opened.push(...stores);
  return { schema, stores };
}

const approve = (r: ApprovalRequest) => applyDecision(r, { approver: bob, decision: 'approve' }, at(1000));

const sql = <R extends pg.QueryResultRow>(schema: string, text: string, params: unknown[] = []) =>
  postgres.withClient(async (client) => (await client.query<R>(text, params)).rows, schema);

describe('PostgreSQL store: executions claimed with a lease that names the replica', () => {
  it("never lets another replica end a live replica's execution; a dead replica's becomes abandoned", async () => {
    const {
      schema,
      stores: [a, b],
    } = await replicas(2);
    await a!.create(sampleRequest(1));
    await a!.transition('req-1', 'pending', approve);
    expect((await a!.transition('req-1', 'approved', (r) => startExecution(r, at(2000)))).ok).toBe(true);
    const [lease] = await sql<{ lease_owner: string; lease_until: Date }>(
      schema,
      'SELECT lease_owner, lease_until FROM approvals',
    );
    expect(lease!.lease_owner).toBe('replica-0');

    expect(await b!.abandonedExecutions()).toEqual([]);
    expect(await markAbandoned(b!, at(3000))).toEqual([]);
    const refused = await b!.transition('req-1', 'executing', (r) => markUnknown(r, at(3000)));
    expect(refused.ok).toBe(false);
    expect(refused.request.state).toBe('executing');

    // While replica-0 lives it renews its claim, past the first lease's end.
    await eventually(async () => {
      const [now] = await sql<{ lease_until: Date }>(schema, 'SELECT lease_until FROM approvals');
      return now!.lease_until.getTime() > lease!.lease_until.getTime();
    }, 'replica-0 renews its lease');
    expect(await b!.abandonedExecutions()).toEqual([]);

    // replica-0 stops (as a killed one does, it renews nothing more): its claim lapses.
    await a!.close();
    await eventually(async () => (await b!.abandonedExecutions()).length === 1, 'the lease lapses');
    expect(await markAbandoned(b!, at(4000))).toEqual(['req-1']);
    expect((await b!.get('req-1'))!.state).toBe('unknown');
  });

  it('lets the claiming replica finish its own execution', async () => {
    const {
      stores: [a, b],
    } = await replicas(2);
    await a!.create(sampleRequest(1));
    await b!.transition('req-1', 'pending', approve);
    const claims = await Promise.all(
      [a!, b!, a!, b!].map((s) => s.transition('req-1', 'approved', (r) => startExecution(r, at(2000)))),
    );
    expect(claims.filter((c) => c.ok)).toHaveLength(1);
  });
});

describe('PostgreSQL store: races across replicas', () => {
  it('makes one request of 100 identical creates through 3 replicas, and one winner of 300 decisions', async () => {
    const { stores } = await replicas(3);
    const created = await Promise.all(
      Array.from({ length: 100 }, (_, i) => stores[i % 3]!.create({ ...sampleRequest(1), id: `try-${i}` })),
    );
    expect(created.filter((r) => r.created)).toHaveLength(1);
    const id = created.find((r) => r.created)!.request.id;
    const decisions = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        stores[i % 3]!.transition(id, 'pending', (r) =>
          applyDecision(
            r,
            {
              approver: { id: `sec-${i}`, groups: ['security'] },
              decision: i % 2 ? 'approve' : 'reject',
              ...(i % 2 ? {} : { reason: 'no' }),
            },
            at(1000),
          ),
        ),
      ),
    );
    const won = decisions.filter((d) => d.ok);
    expect(won).toHaveLength(1);
    const final = (await stores[2]!.get(id))!;
    expect(final.decisions).toEqual(won[0]!.request.decisions);
  });

  it('never hands one delivery to two replicas claiming at once', async () => {
    const { stores } = await replicas(3);
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
    for (const id of ids)
      await stores[0]!.enqueueDeliveries([{ approvalId: id, channel: 'hooks', stage: 'requested' }], at(0));
    const claims = await Promise.all(
      Array.from({ length: 12 }, (_, i) => stores[i % 3]!.claimDeliveries(`w${i}`, at(1), 60_000, 4)),
    );
    const claimed = claims.flat().map((c) => c.delivery.id);
    expect(claimed).toHaveLength(30);
    expect(new Set(claimed).size).toBe(30);
  });
});

describe('PostgreSQL store: the change feed', () => {
  /** Replicas A and B; A created req-1 and B heard it through NOTIFY (no periodic read in the test). */
  async function bHeardOfReq1() {
    const {
      schema,
      stores: [a, b],
    } = await replicas(2, { pollIntervalMs: 60_000 });
    const heard: string[] = [];
    b!.watch!((r) => heard.push(`${r.id}:${r.state}`));
    await a!.create(sampleRequest(1));
    await eventually(() => heard.includes('req-1:pending'), 'B hears the request through NOTIFY');
    return { schema, a: a!, heard };
  }

  it("tells each replica the others' changes, each revision once, and not its own", async () => {
    const {
      stores: [a, b],
    } = await replicas(2);
    const heardByA: string[] = [];
    const heardByB: string[] = [];
    a!.watch!((r) => heardByA.push(`${r.id}:${r.state}`));
    b!.watch!((r) => heardByB.push(`${r.id}:${r.state}`));
    await a!.create(sampleRequest(1));
    await eventually(() => heardByB.includes('req-1:pending'), 'B hears the new request');
    await b!.transition('req-1', 'pending', approve);
    await eventually(() => heardByA.includes('req-1:approved'), 'A hears the approval');
    await a!.create(sampleRequest(2));
    await eventually(() => heardByB.includes('req-2:pending'), 'B hears the second request');
    expect(heardByA).toEqual(['req-1:approved']);
    expect(heardByB).toEqual(['req-1:pending', 'req-2:pending']);
  });

  it('reads what changed even when no notification came (the backstop)', async () => {
    const {
      schema,
      stores: [a],
    } = await replicas(1);
    const heard: string[] = [];
    a!.watch!((r) => heard.push(`${r.id}:${r.state}`));
    await a!.create(sampleRequest(1));
    // A write that notifies nobody, as one whose notification was lost with a connection.
    const approved = approve((await a!.get('req-1'))!);
    await sql(
      schema,
      `UPDATE approvals SET doc = $1, state = 'approved', revision = revision + 1 WHERE id = 'req-1'`,
      [JSON.stringify(approved)],
    );
    await eventually(() => heard.includes('req-1:approved'), 'the periodic read finds the change');
    expect(heard).toEqual(['req-1:approved']);
  });
  it('does not hand out a write of its own that a read sees committed before the write is settled', async () => {
    const {
      schema,
      stores: [other],
    } = await replicas(1);
    const config = { connectionString: postgres.url, options: `-c search_path=${schema}` };
    const pool = new pg.Pool(config);
    const feed = startFeed(openDb(pool, 'feed under test'), config, schema, 50, silentLogger);
    try {
      await feed.ready;
      const heard: string[] = [];
      feed.watch((r) => heard.push(`${r.id}:${r.state}`));
      // This replica's write of req-1 commits (written here through another store), and reads follow
      // before it is settled: a later request read proves they did.
      const settled = feed.writing('req-1');
      await other!.create(sampleRequest(1));
      await other!.create(sampleRequest(2));
      await eventually(() => heard.includes('req-2:pending'), 'a read after the commit');
      const [written] = await sql<{ xid: string }>(
        schema,
        "SELECT change_xid::text AS xid FROM approvals WHERE id = 'req-1'",
      );
      feed.wrote('req-1', 1, written!.xid);
      settled();
      await other!.create(sampleRequest(3));
      await eventually(() => heard.includes('req-3:pending'), 'a read after the write settled');
      expect(heard).toEqual(['req-2:pending', 'req-3:pending']);
    } finally {
      await feed.stop();
      await pool.end();
    }
  });
  it('hands out a change committed after a later transaction that the feed has read past (a late commit)', async () => {
    const { schema, a, heard } = await bHeardOfReq1();
    // A writer's transaction writes req-1 (so it has its transaction id) and stays open...
    const late = new pg.Client({ connectionString: postgres.url, options: `-c search_path=${schema}` });
    await late.connect();
    try {
      await late.query('BEGIN');
      await late.query(
        `UPDATE approvals SET doc = $1, state = 'approved', revision = revision + 1 WHERE id = 'req-1'`,
        [JSON.stringify(approve((await a.get('req-1'))!))],
      );
      // ...while a later transaction writes req-2 and commits: B reads it (not held back by the
      // open one) and has read past req-1's transaction id.
      await a.create(sampleRequest(2));
      await eventually(() => heard.includes('req-2:pending'), "B hears req-2 while req-1's writer is open");
      await late.query(`SELECT pg_notify('gatehouse_${schema}', 'req-1')`);
      await late.query('COMMIT');
    } finally {
      await late.end();
    }
    await eventually(() => heard.includes('req-1:approved'), 'B hears the write that committed late');
    expect(heard).toEqual(['req-1:pending', 'req-2:pending', 'req-1:approved']);
  });

  it('reads only what changed since its last read, not every recent change again', async () => {
    const {
      schema,
      stores: [other],
    } = await replicas(1);
    // No autovacuum here: its ANALYZE is a transaction too, and one open during a read would make
    // that read take the rows written since it again (correctly, but not what this test counts).
    await sql(schema, 'ALTER TABLE approvals SET (autovacuum_enabled = false)');
    const config = { connectionString: postgres.url, options: `-c search_path=${schema}` };
    const pool = new pg.Pool(config);
    const db = openDb(pool, 'feed under test');
    // The requests each read of the feed returns.
    const perRead: number[] = [];
    const counting: Db = {
      ...db,
      async query<R extends pg.QueryResultRow>(text: string, params?: unknown[]) {
        const result = await db.query<R>(text, params);
        if (text.includes('pg_current_snapshot')) {
          perRead.push((result.rows as { doc?: unknown }[]).filter((row) => row.doc).length);
        }
        return result;
      },
    };
    // Only notifications wake it during the test.
    const feed = startFeed(counting, config, schema, 60_000, silentLogger);
    try {
      await feed.ready;
      const heard: string[] = [];
      feed.watch((r) => heard.push(`${r.id}:${r.state}`));
      for (let n = 1; n <= 30; n++) await other!.create(sampleRequest(n));
      await eventually(() => heard.length === 30, 'the feed hears thirty new requests');
      perRead.length = 0;
      await other!.transition('req-7', 'pending', approve);
      await eventually(() => heard.includes('req-7:approved'), 'the feed hears the approval');
      // One row read for one change: not the thirty written a moment before it, again.
      expect(perRead.reduce((sum, n) => sum + n, 0)).toBe(1);
      expect(heard.filter((h) => h.startsWith('req-7:'))).toEqual(['req-7:pending', 'req-7:approved']);
    } finally {
      await feed.stop();
      await pool.end();
    }
  });

  it('listens again after its LISTEN connection breaks, and hears changes through notifications', async () => {
    const { schema, a, heard } = await bHeardOfReq1();
    const listening = `SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN gatehouse_${schema}'`;
    const before = await sql<{ pid: number }>(schema, listening);
    expect(before).toHaveLength(2);
    await sql(schema, `SELECT pg_terminate_backend(pid) FROM (${listening}) AS l`);
    await eventually(async () => {
      const now = await sql<{ pid: number }>(schema, listening);
      return now.length === 2 && now.every((row) => !before.some((old) => old.pid === row.pid));
    }, 'both replicas listen again on new connections');
    await a!.create(sampleRequest(2));
    await eventually(() => heard.includes('req-2:pending'), 'B hears the next request');
  });
});

describe('PostgreSQL store: connections', () => {
  it('names the store without its password when it cannot connect', async () => {
    const url = postgres.url.replace(/:[^:@/]+@/, ':not-the-password@');
    const settings = PostgresSettingsSchema.parse({ tls: { mode: 'disable' } });
    const error = await refusal(openPostgresStore({ url, settings, logger: silentLogger }));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres: /);
    expect(error.message).not.toContain('not-the-password');
  });

  it('refuses TLS parameters in the URL, and TLS to a server without it', async () => {
    const plain = PostgresSettingsSchema.parse({ tls: { mode: 'disable' } });
    const inUrl = await refusal(
      openPostgresStore({ url: `${postgres.url}?sslmode=disable`, settings: plain, logger: silentLogger }),
    );
    expect(inUrl.code).toBe('CONFIG_INVALID');
    expect(inUrl.message).toContain('approvals.postgres.tls');
    const tls = PostgresSettingsSchema.parse({ tls: { mode: 'require' } });
    const noTls = await refusal(
      openPostgresStore({ url: postgres.url, settings: tls, logger: silentLogger }),
    );
    expect(noTls.code).toBe('STORE_UNAVAILABLE');
    expect(noTls.message).toMatch(/SSL/);
  });
});
