import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVAL_STATES } from '../../src/approvals/request.js';
import { verifyDigest } from '../../src/approvals/states.js';
import { isGatehouseError } from '../../src/errors.js';
import {
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

  it.each(['v1/empty.json', 'v1/every-state.json', 'v2/every-state.json'])(
    '%s opens and reads back with the current code',
    async (name) => {
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
    },
  );

  it('v1/every-state.json holds every state, so every state stays readable', async () => {
    const raw = JSON.parse(await readFile(join(CORPUS, 'v1/every-state.json'), 'utf8'));
    const document = upgradeDocument(raw, 'v1/every-state.json');
    expect(new Set(document.approvals.map((r) => r.state))).toEqual(new Set(APPROVAL_STATES));
  });
});

describe('upgradeDocument', () => {
  const current = { schemaVersion: STORE_SCHEMA_VERSION, approvals: [] };

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

  it('reports what is wrong in a current-version document, with paths', () => {
    const broken = {
      schemaVersion: STORE_SCHEMA_VERSION,
      approvals: [{ id: 'x', state: 'pending' }],
    };
    let caught: unknown;
    try {
      upgradeDocument(broken, 'f.json');
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught, 'STORE_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(/approvals\.0\.digest/);
  });

  it('refuses duplicate ids and two open requests for one digest', async () => {
    const raw = JSON.parse(await readFile(join(CORPUS, 'v1/every-state.json'), 'utf8'));
    const [first] = raw.approvals;
    expect(() => upgradeDocument({ ...raw, approvals: [first, first] }, 'f.json')).toThrow(/duplicate id/);
    const twin = { ...first, id: 'other' };
    expect(() => upgradeDocument({ ...raw, approvals: [first, twin] }, 'f.json')).toThrow(
      /second open request/,
    );
    const closedTwin = { ...twin, state: 'cancelled', closed: { at: first.createdAt, reason: 'x' } };
    expect(upgradeDocument({ ...raw, approvals: [first, closedTwin] }, 'f.json').approvals).toHaveLength(2);
  });
});
