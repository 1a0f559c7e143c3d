import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../errors.js';
import { signCheckpoint } from './checkpoint.js';
import { checkpointLine, readAuditRecords } from './files.js';
import { leafHash } from './merkle.js';
import { verifyReceipt } from './receipt.js';
import { formatLine } from './record.js';
import {
  checkpointsPath,
  lines,
  tempDir,
  testKey,
  writeLines,
  writeRecords,
  type TestKey,
} from './testkit.js';
import { inclusionProofFor, verifyAuditLog } from './verify.js';

/*
 * Each tampering an auditor must catch, done to a real log directory: ten records in two segments
 * (0-4, 5-9), a checkpoint every four records and one at close (sizes 4, 8, 10).
 */
let dir: string;
let remove: () => Promise<void>;
let key: TestKey;
let seg0: string;
let seg1: string;

beforeEach(async () => {
  ({ path: dir, remove } = await tempDir());
  key = testKey();
  let n = 0;
  // Records 0-4 on one day and 5-9 on the next: two segments.
  await writeRecords(dir, key, 10, {
    now: () => new Date(n++ < 5 ? '2026-02-01T12:00:00.000Z' : '2026-02-02T12:00:00.000Z'),
    settings: { checkpoint: { everyRecords: 4 } },
  });
  seg0 = join(dir, 'segment-0000000000000000.jsonl');
  seg1 = join(dir, 'segment-0000000000000005.jsonl');
});
afterEach(() => remove());

const verify = (options: { from?: number; keys?: string[] } = {}) =>
  verifyAuditLog(dir, { keys: options.keys ?? [key.verifierKey], from: options.from });

async function edit(path: string, change: (content: string[]) => string[]): Promise<void> {
  await writeLines(path, change(await lines(path)));
}

describe('verify', () => {
  it('passes an intact log and says what it checked', async () => {
    expect(await lines(seg1)).toHaveLength(5);
    const report = await verify();
    expect(report).toMatchObject({
      ok: true,
      records: 10,
      checked: 10,
      checkpoints: 3,
      latestCheckpoint: { size: 10, key: `${key.signer.name}+${key.verifierKey.split('+')[1]}` },
    });
    expect(report.problem).toBeUndefined();
    expect(report.uncovered).toBeUndefined();
  });

  it('names an edited record', async () => {
    await edit(seg0, (c) => c.map((line, i) => (i === 2 ? line.replace('"n":2', '"n":20') : line)));
    expect((await verify()).problem).toMatchObject({ reason: 'edited', seq: 2, at: `${seg0}:3` });
  });

  it('names an edited last record through the checkpoint that covers it', async () => {
    await edit(seg1, (c) => c.map((line, i) => (i === 4 ? line.replace('"n":9', '"n":90') : line)));
    const problem = (await verify()).problem;
    expect(problem).toMatchObject({ reason: 'checkpoint-mismatch', seq: 9 });
    expect(problem?.message).toContain('record 9 was changed');
  });

  it('names a record whose seq was changed', async () => {
    await edit(seg0, (c) => c.map((line, i) => (i === 3 ? line.replace('"seq":3', '"seq":33') : line)));
    expect((await verify()).problem).toMatchObject({ reason: 'edited', seq: 3 });
  });

  it('names a deleted record', async () => {
    await edit(seg0, (c) => c.filter((_, i) => i !== 1));
    const problem = (await verify()).problem;
    expect(problem).toMatchObject({ reason: 'deleted', seq: 1 });
    expect(problem?.message).toContain('record 1 is missing');
  });

  it('names a deleted segment', async () => {
    const { rm } = await import('node:fs/promises');
    await rm(seg0);
    expect((await verify()).problem).toMatchObject({ reason: 'deleted', seq: 0 });
  });

  it('names reordered records', async () => {
    await edit(seg0, (c) => [c[0]!, c[2]!, c[1]!, c[3]!, c[4]!]);
    expect((await verify()).problem).toMatchObject({ reason: 'reordered', seq: 1 });
  });

  it('names an inserted record that continues the chain', async () => {
    // A forged record 3, linked to record 2, slipped in before the real record 3.
    const content = await lines(seg0);
    const before = JSON.parse(content[2]!) as { time: string };
    const forged = formatLine(leafHash(content[2]!), '{"event":"test","n":99}', 3, before.time);
    await writeLines(seg0, [...content.slice(0, 3), forged, ...content.slice(3)]);
    expect((await verify()).problem).toMatchObject({ reason: 'inserted', seq: 3, at: `${seg0}:4` });
  });

  it('names an inserted record with a seq of its own', async () => {
    const content = await lines(seg0);
    const forged = formatLine(
      Buffer.alloc(32, 7),
      '{"event":"test","n":99}',
      1000,
      '2026-02-01T12:00:00.000Z',
    );
    await writeLines(seg0, [...content.slice(0, 2), forged, ...content.slice(2)]);
    expect((await verify()).problem).toMatchObject({ reason: 'inserted', seq: 2, at: `${seg0}:3` });
  });

  it('names a duplicated line', async () => {
    await edit(seg0, (c) => [...c.slice(0, 3), c[2]!, ...c.slice(3)]);
    expect((await verify()).problem).toMatchObject({ reason: 'inserted', at: `${seg0}:4` });
  });

  it('names a line that is no longer canonical JSON', async () => {
    await edit(seg1, (c) =>
      c.map((line, i) => (i === 1 ? JSON.stringify(JSON.parse(line), null, 1).replaceAll('\n', '') : line)),
    );
    expect((await verify()).problem).toMatchObject({ reason: 'malformed', seq: 6, at: `${seg1}:2` });
  });

  it('names a torn last line', async () => {
    await appendFile(seg1, '{"prev":"00');
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ reason: 'torn-line', seq: 10 });
    expect(report.records).toBe(10);
  });

  it('names a truncation after a checkpoint', async () => {
    await edit(seg1, (c) => c.slice(0, 3));
    const problem = (await verify()).problem;
    expect(problem).toMatchObject({ reason: 'truncated', seq: 8 });
    expect(problem?.message).toContain('records 8 to 9 are gone');
  });

  it('names a checkpoint signed with another key', async () => {
    const other = testKey(key.signer.name);
    const [first, second] = await lines(checkpointsPath(dir));
    const note = (JSON.parse(second!) as { note: string }).note;
    const forged = signCheckpoint(
      {
        origin: key.signer.name,
        size: 8,
        rootHash: Buffer.from(note.split('\n')[2]!, 'base64'),
        extensions: [],
      },
      other.signer,
    );
    await writeLines(checkpointsPath(dir), [first!, checkpointLine(forged.note).trimEnd()]);
    const problem = (await verify()).problem;
    expect(problem).toMatchObject({ reason: 'checkpoint-unknown-key', at: `${checkpointsPath(dir)}:2` });
    expect(problem?.message).toContain(`signed by ${other.signer.name}+`);
  });

  it('names a checkpoint whose signed text was changed', async () => {
    await edit(checkpointsPath(dir), (c) =>
      c.map((line, i) => (i === 0 ? line.replace('\\n4\\n', '\\n3\\n') : line)),
    );
    expect((await verify()).problem).toMatchObject({ reason: 'checkpoint-bad-signature' });
  });

  it('still catches an edit before --from through the checkpoints, and checks fewer lines', async () => {
    expect(await verify({ from: 6 })).toMatchObject({ ok: true, checked: 4 });
    await edit(seg0, (c) => c.map((line, i) => (i === 1 ? line.replace('"n":1', '"n":10') : line)));
    const problem = (await verify({ from: 6 })).problem;
    expect(problem).toMatchObject({ reason: 'checkpoint-mismatch', seq: 0 });
    expect(problem?.message).toContain('a record from 0 to 3 was changed');
  });

  it('refuses a directory or a witness file that is not there', async () => {
    await expect(verifyAuditLog(join(dir, 'nope'), { keys: [key.verifierKey] })).rejects.toMatchObject({
      code: 'AUDIT_LOG_UNAVAILABLE',
      message: expect.stringContaining(join(dir, 'nope')),
    });
    await expect(
      verifyAuditLog(dir, { keys: [key.verifierKey], witnesses: [join(dir, 'mirror.jsonl')] }),
    ).rejects.toMatchObject({ code: 'AUDIT_LOG_UNAVAILABLE' });
  });

  it('reads the records back in order', async () => {
    const read = [];
    for await (const line of readAuditRecords(dir)) read.push(line.record.n);
    expect(read).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('names records no checkpoint covers yet without failing', async () => {
    await writeLines(checkpointsPath(dir), (await lines(checkpointsPath(dir))).slice(0, 2));
    expect(await verify()).toMatchObject({ ok: true, uncovered: { from: 8, to: 9 } });
  });
});

describe('receipts from a log directory', () => {
  it('prove a record against the latest checkpoint, offline', async () => {
    const receipt = await inclusionProofFor(dir, 6, [key.verifierKey]);
    expect(receipt).toMatchObject({ seq: 6, treeSize: 10 });
    expect(JSON.parse(receipt.line!)).toMatchObject({ seq: 6, record: { n: 6 } });
    expect(verifyReceipt(receipt, [key.verifierKey])).toMatchObject({ ok: true, checkpoint: { size: 10 } });
    const tampered = [
      { ...receipt, line: receipt.line!.replace('"n":6', '"n":7') },
      { ...receipt, inclusionProof: receipt.inclusionProof.slice(1) },
      { ...receipt, leafHash: '0'.repeat(64), line: undefined },
      { ...receipt, treeSize: 9 },
    ];
    for (const bad of tampered) expect(verifyReceipt(bad, [key.verifierKey]).ok).toBe(false);
    expect(verifyReceipt(receipt, [testKey().verifierKey])).toMatchObject({ ok: false });
    expect(verifyReceipt({ seq: 'x' }, [key.verifierKey])).toMatchObject({ ok: false });
  });

  it('refuse a record beyond the latest checkpoint, and a log that does not verify', async () => {
    await writeLines(checkpointsPath(dir), (await lines(checkpointsPath(dir))).slice(0, 1));
    await expect(inclusionProofFor(dir, 5, [key.verifierKey])).rejects.toMatchObject({
      code: 'AUDIT_PROOF_UNAVAILABLE',
    });
    await edit(seg0, (c) => c.filter((_, i) => i !== 1));
    const error = await inclusionProofFor(dir, 0, [key.verifierKey]).catch((e: GatehouseError) => e);
    expect(error).toMatchObject({ code: 'AUDIT_LOG_CORRUPT' });
  });
});
