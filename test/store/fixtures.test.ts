import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVAL_STATES } from '../../src/approvals/request.js';
import { verifyDigest } from '../../src/approvals/states.js';
import { isGatehouseError } from '../../src/errors.js';
import {
  emptyDocument,
  MIGRATIONS,
  STORE_SCHEMA_VERSION,
  upgradeDocument,
  type Migration,
} from '../../src/store/document.js';
import { openLowdbStore } from '../../src/store/lowdb.js';
import { REPO } from '../helpers/paths.js';

/** The corpus of store files older Gatehouse versions wrote; see fixtures/store/README.md. */
const CORPUS = join(REPO, 'fixtures/store');

async function corpus(): Promise<string[]> {
  const versions = (await readdir(CORPUS)).filter((name) => /^v\d+$/.test(name));
  const files = await Promise.all(
    versions.map(async (v) => (await readdir(join(CORPUS, v))).map((f) => `${v}/${f}`)),
  );
  return files.flat().sort();
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-fixtures-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the store fixture corpus', () => {
  it('is unchanged: fixtures are never regenerated', async () => {
    const sums = (await readFile(join(CORPUS, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    const pinned = new Map(sums.map((line) => [line.slice(66), line.slice(0, 64)]));
    const files = await corpus();
    expect(files).toEqual([...pinned.keys()].sort());
    for (const file of files) {
      const bytes = await readFile(join(CORPUS, file));
      expect(createHash('sha256').update(bytes).digest('hex'), file).toBe(pinned.get(file));
    }
  });

  it('has a folder for the current schema version', async () => {
    expect((await corpus()).some((f) => f.startsWith(`v${STORE_SCHEMA_VERSION}/`))).toBe(true);
  });

  it.each([
    'v1/empty.json',
    'v1/every-state.json',
    'v2/every-state.json',
    'v3/every-state.json',
    'v4/every-state.json',
  ])('%s opens and reads back with the current code', async (name) => {
    const file = join(dir, 'approvals.json');
    await copyFile(join(CORPUS, name), file);
    const raw = JSON.parse(await readFile(file, 'utf8'));
    const store = await openLowdbStore(file);
    const requests = await store.list();
    expect(requests.map((r) => r.id)).toEqual(raw.approvals.map((r: { id: string }) => r.id));
    for (const request of requests) expect(verifyDigest(request), request.id).toBe(true);
    await store.close();
    // Reopening what the current code wrote back changes nothing.
    const again = await openLowdbStore(file);
    expect(await again.list()).toEqual(requests);
    await again.close();
  });

  it('v3/every-state.json keeps its quarantined records as found, and its tool definitions', async () => {
    const file = join(dir, 'approvals.json');
    await copyFile(join(CORPUS, 'v3/every-state.json'), file);
    const raw = JSON.parse(await readFile(file, 'utf8'));
    const store = await openLowdbStore(file);
    expect(await store.quarantined()).toEqual(raw.quarantined);
    expect((await store.quarantined()).map((q) => q.problem.code)).toEqual([
      'DIGEST_MISMATCH',
      'RECORD_INVALID',
    ]);
    const [blocked, retried] = (await store.list()).slice(-2);
    expect(blocked!.execution?.error?.toolDefinition?.description).toMatch(/remote backup host/);
    expect(retried!.definitionChangedSince).toMatchObject({ id: blocked!.id, state: 'failed' });
    expect(retried!.toolDefinition).toEqual(blocked!.execution?.error?.toolDefinition);
    await store.close();
  });

  it('v4/every-state.json keeps its outbox, and a claim a crash left is released on open', async () => {
    const file = join(dir, 'approvals.json');
    await copyFile(join(CORPUS, 'v4/every-state.json'), file);
    const raw = JSON.parse(await readFile(file, 'utf8'));
    const leased = raw.deliveries
      .filter((d: { lease?: unknown }) => d.lease)
      .map((d: { id: string }) => d.id);
    expect(leased).toHaveLength(3);
    const store = await openLowdbStore(file);
    const deliveries = await store.listDeliveries();
    expect(deliveries.map((d) => d.id)).toEqual(raw.deliveries.map((d: { id: string }) => d.id));
    expect(new Set(deliveries.map((d) => d.state))).toEqual(new Set(['pending', 'delivered', 'failed']));
    expect(deliveries.filter((d) => d.lease)).toEqual([]);
    // What was claimed when the process died is due again at once, for a new owner.
    const claimed = await store.claimDeliveries(
      'after-restart',
      new Date('2026-03-02T09:00:10.000Z'),
      1000,
      10,
    );
    expect(claimed.map((c) => c.delivery.id).sort()).toEqual([...leased].sort());
    const teams = await store.claimDeliveries('x', new Date('2026-03-02T09:00:10.000Z'), 1000, 10);
    expect(teams).toEqual([]);
    expect(await store.listConversations('teams')).toEqual(raw.conversations);
    const used = await store.useCallbackToken(
      raw.callbackTokens[1].hash,
      new Date('2026-03-02T09:00:10.000Z'),
    );
    expect(used).toEqual({ ok: false, reason: 'used' });
    const unused = await store.useCallbackToken(
      raw.callbackTokens[0].hash,
      new Date('2026-03-02T09:00:10.000Z'),
    );
    expect(unused.ok).toBe(true);
    await store.close();
  });

  it('v1/every-state.json holds every state, so every state stays readable', async () => {
    const raw = JSON.parse(await readFile(join(CORPUS, 'v1/every-state.json'), 'utf8'));
    const document = upgradeDocument(raw, 'v1/every-state.json');
    expect(new Set(document.approvals.map((r) => r.state))).toEqual(new Set(APPROVAL_STATES));
  });
});

describe('upgradeDocument', () => {
  const current = emptyDocument();

  // Version 1 is the first released schema, so the only older version to migrate from is a made-up 0.
  it('runs the migration from an older version, then validates the result', () => {
    const seen: unknown[] = [];
    const migrations: Record<number, Migration> = {
      ...MIGRATIONS,
      0: (d) => {
        seen.push(d.schemaVersion);
        return { schemaVersion: 1, approvals: d.requests };
      },
    };
    expect(upgradeDocument({ schemaVersion: 0, requests: [] }, 'f.json', migrations)).toEqual(current);
    expect(seen).toEqual([0]);
    const lossy: Record<number, Migration> = { ...MIGRATIONS, 0: () => ({ schemaVersion: 1 }) };
    expect(() => upgradeDocument({ schemaVersion: 0 }, 'f.json', lossy)).toThrow(/approvals/);
  });

  it('refuses a version with no path to the current one', () => {
    let caught: unknown;
    try {
      upgradeDocument({ schemaVersion: 0 }, 'f.json', {});
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught, 'STORE_VERSION_UNSUPPORTED')).toBe(true);
    expect((caught as Error).message).toMatch(/f\.json: store schemaVersion 0 is too old/);
  });

  it('refuses a migration that does not advance the version', () => {
    const migrations: Record<number, Migration> = { 0: (d) => d };
    expect(() => upgradeDocument({ schemaVersion: 0 }, 'f.json', migrations)).toThrow(/did not produce/);
  });

  it('refuses a document that is broken as a whole, with paths', () => {
    const broken = { schemaVersion: STORE_SCHEMA_VERSION, approvals: {}, quarantined: [] };
    let caught: unknown;
    try {
      upgradeDocument(broken, 'f.json');
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught, 'STORE_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(/f\.json: .*\n {2}approvals: /);
  });

  it('quarantines a record that is not a request, naming what is wrong with paths, and keeps the rest', async () => {
    const raw = JSON.parse(await readFile(join(CORPUS, 'v2/every-state.json'), 'utf8'));
    const [first, second] = raw.approvals;
    const broken = { id: 'x', state: 'approved' };
    const now = new Date('2026-03-03T08:00:00.000Z');
    const document = upgradeDocument(
      { ...raw, approvals: [first, broken, second] },
      'f.json',
      MIGRATIONS,
      now,
    );
    expect(document.approvals.map((r) => r.id)).toEqual([first.id, second.id]);
    expect(document.quarantined).toEqual([
      {
        id: 'x',
        quarantinedAt: now.toISOString(),
        problem: { code: 'RECORD_INVALID', message: expect.stringContaining('digest: ') },
        record: broken,
      },
    ]);
  });

  it('quarantines a record whose invocation no longer matches its digest', async () => {
    const raw = JSON.parse(await readFile(join(CORPUS, 'v2/every-state.json'), 'utf8'));
    const [first, ...rest] = raw.approvals;
    const tampered = { ...first, arguments: { ...first.arguments, path: '/etc/passwd' } };
    const document = upgradeDocument({ ...raw, approvals: [tampered, ...rest] }, 'f.json');
    expect(document.approvals.map((r) => r.id)).not.toContain(first.id);
    expect(document.quarantined).toEqual([
      expect.objectContaining({
        id: first.id,
        problem: expect.objectContaining({ code: 'DIGEST_MISMATCH' }),
      }),
    ]);
    expect(document.quarantined[0]!.record).toEqual(tampered);
  });

  it('quarantines every record of a duplicated id and both open requests for one digest', async () => {
    const raw = JSON.parse(await readFile(join(CORPUS, 'v1/every-state.json'), 'utf8'));
    const [first] = raw.approvals;
    const twice = upgradeDocument({ ...raw, approvals: [first, first] }, 'f.json');
    expect(twice.approvals).toEqual([]);
    expect(twice.quarantined.map((q) => [q.id, q.problem.code])).toEqual([
      [first.id, 'DUPLICATE_ID'],
      [`${first.id}~2`, 'DUPLICATE_ID'],
    ]);
    const twin = { ...first, id: 'other' };
    const open = upgradeDocument({ ...raw, approvals: [first, twin] }, 'f.json');
    expect(open.quarantined.map((q) => [q.id, q.problem.code])).toEqual([
      [first.id, 'DUPLICATE_OPEN_DIGEST'],
      ['other', 'DUPLICATE_OPEN_DIGEST'],
    ]);
    const closedTwin = { ...twin, state: 'cancelled', closed: { at: first.createdAt, reason: 'x' } };
    const fine = upgradeDocument({ ...raw, approvals: [first, closedTwin] }, 'f.json');
    expect(fine.approvals).toHaveLength(2);
    expect(fine.quarantined).toEqual([]);
  });
});
