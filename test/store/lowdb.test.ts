import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyDecision, finishExecution, startExecution } from '../../src/approvals/states.js';
import { isGatehouseError } from '../../src/errors.js';
import { emptyDocument, STORE_SCHEMA_VERSION, StoreDocumentSchema } from '../../src/store/document.js';
import { archivePath, openLowdbStore } from '../../src/store/lowdb.js';
import { ApprovalRequestSchema, type ApprovalRequest } from '../../src/approvals/request.js';
import { approvalStoreContract } from './contract.js';
import { conversationStoreContract, reopening } from './teamsConversationContract.js';
import { outboxStoreContract } from './outboxContract.js';
import { at, bob, refusal, sampleRequest } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const onDisk = async (file: string) => StoreDocumentSchema.parse(JSON.parse(await readFile(file, 'utf8')));

describe('lowdb store: the ApprovalStore contract', () => {
  approvalStoreContract(() => openLowdbStore(join(dir, 'approvals.json')));
});

describe("lowdb store: the ApprovalStore contract for the channels' outbox", () => {
  outboxStoreContract(() => openLowdbStore(join(dir, 'approvals.json')));
});

describe("lowdb store: the Teams bot's conversations, across a restart", () => {
  conversationStoreContract(reopening(() => openLowdbStore(join(dir, 'approvals.json'))));
});

describe("lowdb store: the channels' outbox across restarts", () => {
  it("keeps deliveries, memos, tokens and conversations; a dead process's claims are released on open", async () => {
    const file = join(dir, 'approvals.json');
    const store = await openLowdbStore(file);
    await store.create(sampleRequest(1));
    await store.enqueueDeliveries(
      [
        { approvalId: 'req-1', channel: 'hooks', stage: 'requested' },
        { approvalId: 'req-1', channel: 'teams', stage: 'requested' },
      ],
      at(0),
    );
    await store.claimDeliveries('dead', at(0), 3_600_000, 10);
    await store.settleDelivery('req-1/teams/requested', 'dead', {
      result: 'delivered',
      at: at(1),
      memo: { activityId: 'a1' },
    });
    const hash = `sha256:${'a'.repeat(64)}`;
    await store.saveCallbackToken({
      hash,
      approvalId: 'req-1',
      channel: 'hooks',
      deliveryId: 'req-1/hooks/requested',
      expiresAt: at(3_600_000).toISOString(),
    });
    await store.saveConversation({
      channel: 'teams',
      id: 'c1',
      reference: { a: 1 },
      savedAt: at(0).toISOString(),
    });
    // The process "dies" with req-1/hooks/requested claimed for an hour.
    expect((await onDisk(file)).deliveries.find((d) => d.channel === 'hooks')?.lease?.owner).toBe('dead');
    await store.close();

    const reopened = await openLowdbStore(file);
    expect((await onDisk(file)).deliveries.every((d) => d.lease === undefined)).toBe(true);
    const claimed = await reopened.claimDeliveries('alive', at(2), 10_000, 10);
    expect(claimed.map((c) => c.delivery.id)).toEqual(['req-1/hooks/requested']);
    expect((await reopened.listDeliveries({ states: ['delivered'] })).map((d) => d.id)).toEqual([
      'req-1/teams/requested',
    ]);
    expect((await reopened.useCallbackToken(hash, at(3))).ok).toBe(true);
    expect(await reopened.listConversations('teams')).toHaveLength(1);
    await reopened.close();
  });
});

describe('lowdb store', () => {
  it('creates the file and its directory at once, private, carrying schemaVersion', async () => {
    const file = join(dir, 'nested', 'deeper', 'approvals.json');
    const store = await openLowdbStore(file);
    expect(await onDisk(file)).toEqual(emptyDocument());
    expect(emptyDocument().schemaVersion).toBe(STORE_SCHEMA_VERSION);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it('sets a tampered record aside on open, on disk at once, serves the rest, and keeps it set aside once', async () => {
    const file = join(dir, 'approvals.json');
    const store = await openLowdbStore(file);
    await store.create(sampleRequest(1));
    await store.create(sampleRequest(2));
    await store.close();
    const raw = JSON.parse(await readFile(file, 'utf8'));
    raw.approvals[0].arguments.path = '/etc/passwd';
    await writeFile(file, JSON.stringify(raw));

    const reopened = await openLowdbStore(file);
    expect((await reopened.list()).map((r) => r.id)).toEqual(['req-2']);
    expect(await reopened.get('req-1')).toBeUndefined();
    const [quarantined] = await reopened.quarantined();
    expect(quarantined).toMatchObject({ id: 'req-1', problem: { code: 'DIGEST_MISMATCH' } });
    expect(quarantined!.record).toEqual(raw.approvals[0]);
    expect((await onDisk(file)).quarantined).toEqual([quarantined]);
    // The rest goes on as usual, and writes keep the quarantined record.
    await reopened.transition('req-2', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'approve' }, at(1)),
    );
    expect((await onDisk(file)).quarantined).toEqual([quarantined]);
    await reopened.close();
    const again = await openLowdbStore(file);
    expect(await again.quarantined()).toEqual([quarantined]);
    await again.close();
  });

  it('has every acknowledged write on disk before the promise resolves', async () => {
    const file = join(dir, 'approvals.json');
    const store = await openLowdbStore(file);
    await store.create(sampleRequest(1));
    expect((await onDisk(file)).approvals.map((r) => r.id)).toEqual(['req-1']);
    await store.transition('req-1', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'approve' }, at(1)),
    );
    expect((await onDisk(file)).approvals[0]!.state).toBe('approved');
    await store.close();
  });

  it('appends archived requests to <store>.archive.jsonl before they leave the store, across restarts', async () => {
    const file = join(dir, 'approvals.json');
    const reject = (r: ApprovalRequest) =>
      applyDecision(r, { approver: bob, decision: 'reject', reason: 'no' }, at(1));
    const first = await openLowdbStore(file);
    for (let n = 0; n < 3; n++) await first.create(sampleRequest(n));
    await first.transition('req-0', 'pending', reject);
    expect((await first.archiveFinished(at(10))).map((r) => r.id)).toEqual(['req-0']);
    await first.close();

    const second = await openLowdbStore(file);
    await second.transition('req-1', 'pending', reject);
    await second.archiveFinished(at(10));
    expect((await onDisk(file)).approvals.map((r) => r.id)).toEqual(['req-2']);
    const lines = (await readFile(archivePath(file), 'utf8')).trimEnd().split('\n');
    const archived = lines.map((line) => ApprovalRequestSchema.parse(JSON.parse(line)));
    expect(archived.map((r) => [r.id, r.state])).toEqual([
      ['req-0', 'rejected'],
      ['req-1', 'rejected'],
    ]);
    expect((await stat(archivePath(file))).mode & 0o777).toBe(0o600);
    await second.close();
  });

  it('reads everything back after a restart', async () => {
    const file = join(dir, 'approvals.json');
    const first = await openLowdbStore(file);
    for (let n = 0; n < 20; n++) await first.create(sampleRequest(n));
    await first.transition('req-3', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'approve' }, at(1)),
    );
    await first.transition('req-3', 'approved', (r) => startExecution(r, at(2)));
    await first.transition('req-3', 'executing', (r) =>
      finishExecution(
        r,
        { result: { content: [{ type: 'text', text: 'ok ✓' }], structuredContent: { n: 1 } } },
        at(3),
      ),
    );
    const before = await first.list();
    await first.close();

    const second = await openLowdbStore(file);
    expect(await second.list()).toEqual(before);
    expect((await second.get('req-3'))!.execution?.result?.structuredContent).toEqual({ n: 1 });
    await second.close();
  });

  it('refuses a second open of the same file in the same process, and allows one after close', async () => {
    const file = join(dir, 'approvals.json');
    const store = await openLowdbStore(file);
    const error = await refusal(openLowdbStore(join(dir, '.', 'approvals.json')));
    expect(error.code).toBe('STORE_LOCKED');
    expect(error.message).toContain(file);
    await store.close();
    expect(await readdir(dir)).toEqual(['approvals.json']);
    await (await openLowdbStore(file)).close();
  });

  it.each([
    ['not JSON', '{"schemaVersion": 1, "approvals": [', 'STORE_INVALID', /not JSON/],
    ['empty', '', 'STORE_INVALID', /not JSON/],
    ['an array', '[]', 'STORE_INVALID', /not an object/],
    ['without schemaVersion', '{"approvals": []}', 'STORE_INVALID', /no integer schemaVersion/],
    [
      'from a newer Gatehouse',
      '{"schemaVersion": 99, "approvals": [], "audit": []}',
      'STORE_VERSION_UNSUPPORTED',
      /newer Gatehouse.*99/,
    ],
    [
      'older than any upgrade',
      '{"schemaVersion": 0, "requests": []}',
      'STORE_VERSION_UNSUPPORTED',
      /too old/,
    ],
    ['with an unknown field', '{"schemaVersion": 1, "approvals": [], "extra": 1}', 'STORE_INVALID', /extra/],
  ])(
    'refuses a file that is %s, naming it, and leaves it untouched and unlocked',
    async (_name, text, code, message) => {
      const file = join(dir, 'approvals.json');
      await writeFile(file, text);
      const error = await refusal(openLowdbStore(file));
      expect(error.code).toBe(code);
      expect(error.message).toContain(file);
      expect(error.message).toMatch(message);
      expect(await readFile(file, 'utf8')).toBe(text);
      expect(await readdir(dir)).toEqual(['approvals.json']);
    },
  );

  it('refuses further writes after a failed one, keeping what was committed readable', async () => {
    const sub = join(dir, 'sub');
    const file = join(sub, 'approvals.json');
    const store = await openLowdbStore(file);
    await store.create(sampleRequest(1));
    await rm(sub, { recursive: true });
    const failed = await refusal(store.create(sampleRequest(2)));
    expect(failed.code).toBe('STORE_UNAVAILABLE');
    expect(failed.message).toContain(file);
    const after = await refusal(store.transition('req-1', 'pending', (r) => r));
    expect(after.message).toMatch(/an earlier write failed/);
    expect((await store.list()).map((r) => r.id)).toEqual(['req-1']);
    await store.close();
  });

  it('reports a directory it cannot create as STORE_UNAVAILABLE', async () => {
    const blocker = join(dir, 'file');
    await writeFile(blocker, '');
    await chmod(blocker, 0o600);
    const error = await refusal(openLowdbStore(join(blocker, 'approvals.json')));
    expect(isGatehouseError(error, 'STORE_UNAVAILABLE')).toBe(true);
  });
});
