import canonicalize from 'canonicalize';
import { appendFile, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawnProcess } from '../../test/helpers/processes.js';
import { GatehouseError } from '../errors.js';
import { openCheckpoint } from './checkpoint.js';
import { keyRotationRecord } from './keys.js';
import type { AuditRepair } from './log.js';
import { leafHash } from './merkle.js';
import { verifyReceipt } from './receipt.js';
import {
  checkpointsPath,
  lines,
  openTestLog,
  segmentFiles,
  tempDir,
  testKey,
  writeLines,
  writeRecords,
  type TestKey,
} from './testkit.js';
import { verifyAuditLog } from './verify.js';

let dir: string;
let remove: () => Promise<void>;
let key: TestKey;
beforeEach(async () => {
  ({ path: dir, remove } = await tempDir());
  key = testKey();
});
afterEach(async () => {
  vi.useRealTimers();
  await remove();
});

async function rejection(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('expected a GatehouseError');
}

const segment0 = () => join(dir, 'segment-0000000000000000.jsonl');

/** Lets the event loop take `count` turns of I/O (real, while timers are faked). */
async function ioTurns(count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Waits, turn by turn of I/O, until `done` holds (a write on the thread pool has finished). */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; !done(); turn++) {
    if (turn > 10_000) throw new Error('still not done after 10,000 turns of I/O');
    await ioTurns(1);
  }
}

/** The appender fixture writing to `dir` (under a file size limit of `limitKiB`, when given). */
function appender(limitKiB?: number, mode = '') {
  const script = 'test/fixtures/audit/appender.ts';
  const node = `${JSON.stringify(process.execPath)} --import tsx ${script} ${JSON.stringify(dir)} ${mode}`;
  const env = { ...process.env, AUDIT_TEST_SIGNER: key.signerKey };
  return spawnProcess(
    'bash',
    ['-c', `${limitKiB === undefined ? '' : `ulimit -f ${limitKiB}; `}exec ${node}`],
    env,
  );
}

describe('appending', () => {
  it('writes canonical lines with gapless seqs from 0, each linked to the one before, and verifies', async () => {
    const log = await openTestLog(dir, key);
    const first = await log.append({ event: 'call.decided', tool: 'write_file', b: 2, a: 1 }, { sync: true });
    const second = await log.append({ event: 'call.executed', nested: { z: [1, 'two'], y: null } });
    expect([first.seq, second.seq]).toEqual([0, 1]);
    await log.close();

    const [l0, l1] = await lines(segment0());
    expect(l0).toBe(canonicalize(JSON.parse(l0!)));
    expect(JSON.parse(l0!)).toMatchObject({
      prev: '0'.repeat(64),
      seq: 0,
      record: { event: 'call.decided', tool: 'write_file', a: 1, b: 2 },
    });
    expect(l0!.startsWith('{"prev":"')).toBe(true);
    expect(first.leafHash).toBe(leafHash(l0!).toString('hex'));
    expect(JSON.parse(l1!)).toMatchObject({ prev: first.leafHash, seq: 1 });
    expect(second.leafHash).toBe(leafHash(l1!).toString('hex'));
    expect((await stat(segment0())).mode & 0o777).toBe(0o600);

    const report = await verifyAuditLog(dir, { keys: [key.verifierKey] });
    expect(report).toMatchObject({ ok: true, records: 2, checkpoints: 1, latestCheckpoint: { size: 2 } });
  });

  it('gives concurrent appends one total order: the order of the calls', async () => {
    const log = await openTestLog(dir, key, { settings: { groupCommit: { maxDelayMs: 1, maxRecords: 7 } } });
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, n) => log.append({ n }, { sync: n % 11 === 0 })),
    );
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 120 }, (_, n) => n));
    await log.close();
    const written = (await lines(segment0())).map(
      (l) => JSON.parse(l) as { seq: number; record: { n: number } },
    );
    expect(written.map((l) => l.record.n)).toEqual(written.map((l) => l.seq));
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });

  it('holds a group-committed record until its batch is due, and a synced one flushes the batch', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const log = await openTestLog(dir, key, {
      settings: { groupCommit: { maxDelayMs: 50, maxRecords: 100 } },
    });
    const waiting = log.append({ n: 0 });
    const settled = vi.fn();
    void waiting.then(settled);
    // Not written while its batch waits (fake time does not pass by itself), though I/O had its turns.
    await ioTurns(5);
    expect(await readFile(segment0(), 'utf8')).toBe('');
    expect(settled).not.toHaveBeenCalled();
    vi.advanceTimersByTime(50);
    expect((await waiting).seq).toBe(0);
    expect(await lines(segment0())).toHaveLength(1);

    const grouped = log.append({ n: 1 });
    const synced = await log.append({ n: 2 }, { sync: true });
    // The synced record waited for no timer and took the grouped one along, in order.
    expect([(await grouped).seq, synced.seq]).toEqual([1, 2]);
    expect(await lines(segment0())).toHaveLength(3);
    await log.close();
  });

  it('lets records nobody waits for wait their own, longer delay, unless an awaited one is due sooner', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const log = await openTestLog(dir, key, {
      settings: { groupCommit: { maxDelayMs: 50, queuedMaxDelayMs: 1000, maxRecords: 100 } },
    });
    expect(log.enqueue({ n: 0 })).toBe(true);
    vi.advanceTimersByTime(999);
    await ioTurns(5);
    expect(await readFile(segment0(), 'utf8')).toBe('');
    vi.advanceTimersByTime(1);
    await until(() => log.size === 1);

    expect(log.enqueue({ n: 1 })).toBe(true);
    const awaited = log.append({ n: 2 });
    expect(log.enqueue({ n: 3 })).toBe(true);
    // The awaited record's deadline is the sooner one, and its batch takes the queued ones along.
    vi.advanceTimersByTime(50);
    expect((await awaited).seq).toBe(2);
    await until(() => log.size === 4);
    await log.close();
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });

  it('serialises a large batch in slices, so the calls that arrive meanwhile are not held up by all of it', async () => {
    const log = await openTestLog(dir, key, {
      settings: { groupCommit: { maxDelayMs: 60_000, queuedMaxDelayMs: 60_000, maxRecords: 5000 } },
    });
    let serialised = 0;
    // Canonical JSON calls toJSON: it counts the records serialised so far.
    const record = (n: number) => ({ n, at: { toJSON: () => (serialised += 1) } });
    // A thousand records take well over a slice's quarter of a millisecond to serialise.
    for (let n = 0; n < 1000; n++) expect(log.enqueue(record(n))).toBe(true);
    const committed = log.checkpoint();
    // One turn of the event loop after the commit began: a slice is done, not the batch.
    await new Promise((resolve) => setImmediate(resolve));
    expect(serialised).toBeGreaterThan(0);
    expect(serialised).toBeLessThan(1000);
    await committed;
    expect(serialised).toBe(1000);
    expect(log.size).toBe(1000);
    await log.close();
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });

  it('writes a full batch without waiting for the delay', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const log = await openTestLog(dir, key, {
      settings: { groupCommit: { maxDelayMs: 60_000, maxRecords: 3 } },
    });
    const results = await Promise.all([log.append({ n: 0 }), log.append({ n: 1 }), log.append({ n: 2 })]);
    expect(results.map((r) => r.seq)).toEqual([0, 1, 2]);
    await log.close();
  });

  it('refuses what is not a JSON object, or too large, and keeps going', async () => {
    const log = await openTestLog(dir, key, { settings: { maxRecordBytes: 64 } });
    for (const bad of [null, [1], 'text', { n: Number.NaN }, { big: 'x'.repeat(100) }]) {
      expect((await rejection(log.append(bad as never))).code).toBe('AUDIT_RECORD_INVALID');
    }
    expect((await log.append({ n: 1 }, { sync: true })).seq).toBe(0);
    await log.close();
    expect((await rejection(log.append({ n: 2 }))).code).toBe('AUDIT_LOG_UNAVAILABLE');
  });

  it('enqueues records nobody waits for in call order with the awaited ones; a bad one shows in status', async () => {
    const log = await openTestLog(dir, key, { settings: { maxRecordBytes: 64 } });
    expect(log.enqueue({ n: 0 })).toBe(true);
    const awaited = log.append({ n: 1 });
    expect(log.enqueue({ n: 2 })).toBe(true);
    expect(log.enqueue([1] as never)).toBe(false);
    expect((await awaited).seq).toBe(1);
    // Too large: refused alone when its batch is written, and the log says so until a batch succeeds.
    expect(log.enqueue({ big: 'x'.repeat(100) })).toBe(true);
    expect(log.enqueue({ n: 3 })).toBe(true);
    await log.checkpoint();
    expect(log.status()).toMatchObject({ state: 'failing', size: 4, lastError: expect.stringMatching(/64/) });
    expect((await log.append({ n: 4 }, { sync: true })).seq).toBe(4);
    expect(log.status().state).toBe('ok');
    await log.close();
    expect(log.enqueue({ n: 5 })).toBe(false);
    const written = (await lines(segment0())).map(
      (l) => (JSON.parse(l) as { record: { n: number } }).record.n,
    );
    expect(written).toEqual([0, 1, 2, 3, 4]);
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });

  it('lets one process write a log at a time', async () => {
    const log = await openTestLog(dir, key);
    const error = await rejection(openTestLog(dir, key));
    expect(error.code).toBe('AUDIT_LOG_LOCKED');
    expect(error.message).toContain(dir);
    await log.close();
    await (await openTestLog(dir, key)).close();
  });
});

describe('segments', () => {
  it('starts a new segment when one would pass its size, named after its first seq', async () => {
    await writeRecords(dir, key, 30, { settings: { segmentMaxBytes: 600 } });
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      const content = await lines(join(dir, file));
      expect((await stat(join(dir, file))).size).toBeLessThanOrEqual(600);
      expect((JSON.parse(content[0]!) as { seq: number }).seq).toBe(Number(file.slice(8, 24)));
    }
    expect(await verifyAuditLog(dir, { keys: [key.verifierKey] })).toMatchObject({ ok: true, records: 30 });
    // A reopened log continues in the last segment.
    await writeRecords(dir, key, 1, { settings: { segmentMaxBytes: 600 } });
    expect(await verifyAuditLog(dir, { keys: [key.verifierKey] })).toMatchObject({ ok: true, records: 31 });
  });

  it('starts a new segment with the first record of each UTC day', async () => {
    let now = new Date('2026-01-01T23:59:58.000Z');
    const log = await openTestLog(dir, key, { now: () => now });
    await log.append({ n: 0 });
    await log.append({ n: 1 });
    now = new Date('2026-01-02T00:00:00.000Z');
    await log.append({ n: 2 });
    await log.close();
    expect(await segmentFiles(dir)).toEqual([
      'segment-0000000000000000.jsonl',
      'segment-0000000000000002.jsonl',
    ]);
    // Reopened on the same day, the log keeps writing that day's segment; the next day starts another.
    const again = await openTestLog(dir, key, { now: () => now });
    await again.append({ n: 3 });
    now = new Date('2026-01-03T08:00:00.000Z');
    await again.append({ n: 4 });
    await again.close();
    expect(await segmentFiles(dir)).toEqual([
      'segment-0000000000000000.jsonl',
      'segment-0000000000000002.jsonl',
      'segment-0000000000000004.jsonl',
    ]);
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });
});

describe('checkpoints', () => {
  it('signs one every N records and at close, each over the tree at its size', async () => {
    const seen: number[] = [];
    const log = await openTestLog(dir, key, {
      settings: { checkpoint: { everyRecords: 5 } },
      onCheckpoint: (checkpoint) => seen.push(checkpoint.size),
    });
    for (let n = 0; n < 12; n++) await log.append({ n }, { sync: true });
    expect(seen).toEqual([5, 10]);
    await log.close();
    expect(seen).toEqual([5, 10, 12]);
    const notes = (await lines(checkpointsPath(dir))).map((l) => (JSON.parse(l) as { note: string }).note);
    expect(notes.map((note) => openCheckpoint(note, [key.verifier]).checkpoint.size)).toEqual([5, 10, 12]);
    expect(notes[0]!.split('\n')[0]).toBe('audit.test/gatehouse');
  });

  it('signs one every T seconds while records are uncovered', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const signed = new Promise<number>((resolve) => {
      void openTestLog(dir, key, {
        settings: { checkpoint: { everySeconds: 30 } },
        onCheckpoint: (checkpoint) => resolve(checkpoint.size),
      }).then(async (log) => {
        await log.append({ n: 0 }, { sync: true });
        vi.advanceTimersByTime(30_000);
        await signed;
        await log.close();
      });
    });
    expect(await signed).toBe(1);
  });

  it('gives receipts against the latest checkpoint that verify offline', async () => {
    const log = await openTestLog(dir, key);
    for (let n = 0; n < 9; n++) await log.append({ n });
    expect(
      (() => {
        try {
          log.inclusionProof(3);
        } catch (error) {
          return (error as GatehouseError).code;
        }
      })(),
    ).toBe('AUDIT_PROOF_UNAVAILABLE');
    await log.checkpoint();
    const receipt = log.inclusionProof(3);
    expect(receipt).toMatchObject({ seq: 3, treeSize: 9 });
    expect(verifyReceipt(receipt, [key.verifierKey])).toMatchObject({ ok: true });
    expect(verifyReceipt({ ...receipt, seq: 4 }, [key.verifierKey]).ok).toBe(false);
    expect(verifyReceipt(receipt, [testKey().verifierKey]).ok).toBe(false);
    await log.close();
  });

  it('rotates keys: the old key vouches for the new, and an auditor with the old key alone verifies all', async () => {
    const log = await openTestLog(dir, key);
    await log.append({ n: 0 });
    const next = testKey();
    await log.append(keyRotationRecord(key.verifierKey, next.verifierKey), { sync: true });
    await log.useSigner(next.signer);
    await log.append({ n: 2 }, { sync: true });
    await log.close();
    const keys = (await lines(checkpointsPath(dir))).map((l) => {
      const note = (JSON.parse(l) as { note: string }).note;
      return { size: Number(note.split('\n')[1]), oldKey: note.includes(`— ${key.signer.name} `) };
    });
    expect(keys).toHaveLength(3);
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
    // Without the rotation record's voucher, a key nobody announced is refused.
    expect((await verifyAuditLog(dir, { keys: [next.verifierKey] })).problem?.reason).toBe(
      'checkpoint-unknown-key',
    );
    // The log reopens with the new signer, knowing the old key.
    const reopened = await openTestLog(dir, next, { verifiers: [key.verifier] });
    await reopened.close();
  });

  it('copies checkpoints to a mirror directory, which verify checks the log against', async () => {
    const { path: mirror, remove: removeMirror } = await tempDir('gatehouse-mirror-');
    try {
      await writeRecords(dir, key, 6, {
        settings: { mirror: { dir: mirror }, checkpoint: { everyRecords: 3 } },
      });
      expect(await lines(join(mirror, 'checkpoints.jsonl'))).toEqual(await lines(checkpointsPath(dir)));
      expect(
        (
          await verifyAuditLog(dir, {
            keys: [key.verifierKey],
            witnesses: [join(mirror, 'checkpoints.jsonl')],
          })
        ).ok,
      ).toBe(true);
      // Whoever holds the log cuts it and its own checkpoint file back consistently: the log alone
      // still verifies, the mirror's copy does not.
      await writeLines(segment0(), (await lines(segment0())).slice(0, 3));
      await writeLines(checkpointsPath(dir), (await lines(checkpointsPath(dir))).slice(0, 1));
      expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
      const report = await verifyAuditLog(dir, {
        keys: [key.verifierKey],
        witnesses: [join(mirror, 'checkpoints.jsonl')],
      });
      expect(report.problem).toMatchObject({ reason: 'truncated', seq: 3 });
    } finally {
      await removeMirror();
    }
  });

  it('POSTs checkpoints to an HTTP endpoint, and a failing endpoint is reported, not fatal', async () => {
    const bodies: string[] = [];
    const server = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        bodies.push(`${request.headers['content-type']}|${request.headers.authorization}|${body}`);
        // The first copy is taken, every later one refused.
        response.statusCode = bodies.length === 1 ? 204 : 503;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/checkpoints?token=secret`;
    const errors: GatehouseError[] = [];
    try {
      const log = await openTestLog(dir, key, {
        settings: { mirror: { url, headers: { authorization: 'Bearer t0ken' } } },
        onError: (error) => errors.push(error),
      });
      await log.append({ n: 0 });
      const first = await log.checkpoint();
      await log.append({ n: 1 });
      await log.checkpoint();
      await log.append({ n: 2 }, { sync: true });
      await log.close();
      expect(bodies[0]).toBe(`text/plain; charset=utf-8|Bearer t0ken|${first.note}`);
      expect(bodies).toHaveLength(3);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toMatchObject({ code: 'AUDIT_MIRROR_FAILED' });
      expect(errors[0]!.message).toContain('HTTP 503');
      // The token in the query string stays out of messages.
      expect(errors[0]!.message).not.toContain('secret');
      expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).records).toBe(3);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('start-up', () => {
  it('cuts off a torn last line, reports the repair, and continues the chain', async () => {
    await writeRecords(dir, key, 3);
    const full = await lines(segment0());
    // A crash in the middle of writing record 3: part of a line, no newline.
    await appendFile(segment0(), full[2]!.replace('"seq":2', '"seq":3').slice(0, 40));
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).problem).toMatchObject({
      reason: 'torn-line',
      seq: 3,
    });
    const repairs: AuditRepair[] = [];
    const log = await openTestLog(dir, key, { onRepair: (repair) => repairs.push(repair) });
    expect(repairs).toEqual([
      { kind: 'torn-line', file: segment0(), offset: full.join('\n').length + 1, length: 40, seq: 3 },
    ]);
    expect((await log.append({ n: 3 }, { sync: true })).seq).toBe(3);
    await log.close();
    expect(await verifyAuditLog(dir, { keys: [key.verifierKey] })).toMatchObject({ ok: true, records: 4 });
  });

  it('cuts off a torn checkpoint line', async () => {
    await writeRecords(dir, key, 2);
    await appendFile(checkpointsPath(dir), '{"note":"audit.test/gate');
    const repairs: AuditRepair[] = [];
    const log = await openTestLog(dir, key, { onRepair: (repair) => repairs.push(repair) });
    await log.close();
    expect(repairs).toMatchObject([{ kind: 'torn-line', file: checkpointsPath(dir), length: 24 }]);
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });

  it('signs a checkpoint for records a crash left uncovered', async () => {
    await writeRecords(dir, key, 2);
    const checkpoints = await lines(checkpointsPath(dir));
    await writeLines(checkpointsPath(dir), []);
    const log = await openTestLog(dir, key);
    expect(log.latestCheckpoint()?.size).toBe(2);
    await log.close();
    expect(await lines(checkpointsPath(dir))).toEqual(checkpoints);
  });

  it('refuses a log whose records no longer match, naming the first bad record', async () => {
    await writeRecords(dir, key, 5);
    const content = await lines(segment0());
    content[2] = content[2]!.replace('"n":2', '"n":7');
    await writeLines(segment0(), content);
    const error = await rejection(openTestLog(dir, key));
    expect(error.code).toBe('AUDIT_LOG_CORRUPT');
    expect(error.message).toContain('record 2 was changed');
    expect(error.context.problem).toMatchObject({ reason: 'edited', seq: 2 });
    // Refused, it released its lock: a repaired log opens.
    content[2] = content[2]!.replace('"n":7', '"n":2');
    await writeLines(segment0(), content);
    await (await openTestLog(dir, key)).close();
  });

  it('refuses a log whose checkpoint another key signed', async () => {
    await writeRecords(dir, key, 2);
    const error = await rejection(openTestLog(dir, testKey()));
    expect(error.code).toBe('AUDIT_LOG_CORRUPT');
    expect(error.context.problem).toMatchObject({ reason: 'checkpoint-unknown-key' });
  });
});

describe('crashes and full disks', () => {
  it('keeps every acknowledged record through a SIGKILL in the middle of appending', async () => {
    const child = appender();
    await child.waitForStderr((line) => line === 'acked 60');
    expect(await child.stop('SIGKILL')).toBeNull();
    const acked = child
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('acked '))
      .map((line) => Number(line.slice(6)));
    const log = await openTestLog(dir, key);
    // Every record whose append resolved is there (and perhaps some whose promise had not yet).
    expect(log.size).toBeGreaterThanOrEqual(Math.max(...acked) + 1);
    await log.append({ after: 'crash' }, { sync: true });
    await log.close();
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });

  it('reports a batch of records nobody waits for that a full disk refused, as nobody else hears of it', async () => {
    // 100 records of some 300 bytes in one batch: more than the 16 KiB the file may hold.
    const child = appender(16, 'queued');
    expect(await child.exited).toBe(0);
    const out = child.stderr().split('\n');
    expect(out).toContain('reported AUDIT_LOG_UNAVAILABLE');
    expect(out).toContain('status failing 0');
    expect(out).toContain('closed');
    expect((await verifyAuditLog(dir, { keys: [key.verifierKey] })).ok).toBe(true);
  });

  it('fails the appends a full disk refuses, leaves no partial record, and goes on when there is room', async () => {
    // 16 KiB per file: the segment fills up after some forty records, in the middle of a line.
    const child = appender(16);
    expect(await child.exited).toBe(0);
    const out = child.stderr().split('\n');
    const failed = out.find((line) => line.startsWith('failed '))!.split(' ');
    expect(failed.slice(1, 3)).toEqual(['AUDIT_LOG_UNAVAILABLE', 'failing']);
    const durable = Number(failed[3]);
    expect(durable).toBeGreaterThan(20);
    // The small record after the failure fits in what the cut-back file has left.
    expect(out).toContain(`after ${durable}`);
    expect(out).toContain('closed');
    const report = await verifyAuditLog(dir, { keys: [key.verifierKey] });
    expect(report).toMatchObject({ ok: true, records: durable + 1, latestCheckpoint: { size: durable + 1 } });
  });
});
