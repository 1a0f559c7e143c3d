import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from './events.js';
import { at, sampleEvents, writeTrail } from './eventkit.js';
import { readReceipt, RECEIPT_META_KEY } from './receiptFacts.js';
import { tempDir, testKey, type TestKey } from './testkit.js';
import { inclusionProofFor } from './verify.js';

/** Receipts as a result carries them: a real log's inclusion proof plus the approval's fields. */

let dir: { path: string; remove: () => Promise<void> };
let key: TestKey;
let receipt: Record<string, unknown>;
const events = sampleEvents();
const executedSeq = events.findIndex(
  (t) => t.event.event === 'call.executed' && t.event.approvalId === 'a-exec',
);
const executed = events[executedSeq]!.event as EventOf<'call.executed'>;

beforeAll(async () => {
  dir = await tempDir();
  key = await writeTrail(dir.path, events);
  receipt = {
    ...(await inclusionProofFor(dir.path, executedSeq, [key.verifierKey])),
    approvalId: 'a-exec',
    argumentsDigest: executed.argumentsDigest,
    approvers: [
      { id: 'bob', at: at(11) },
      { id: 'carol', at: at(13) },
    ],
    rule: 'fs-writes',
    policyVersion: 'v1',
  };
});
afterAll(() => dir.remove());

describe('readReceipt', () => {
  it('proves the record and confirms the approval fields its signed line repeats', () => {
    const facts = readReceipt(receipt, [key.verifierKey]);
    expect(facts).toMatchObject({
      ok: true,
      seq: executedSeq,
      approvalId: 'a-exec',
      approvers: [
        { id: 'bob', at: at(11) },
        { id: 'carol', at: at(13) },
      ],
      rules: ['fs-writes'],
      policyVersion: 'v1',
      confirmed: ['approvalId', 'argumentsDigest', 'approvers', 'rules', 'policyVersion'],
    });
    expect(facts.record?.event?.event).toBe('call.executed');
  });

  it('reads the receipt out of a tool result that carries it in _meta', () => {
    const result = { content: [{ type: 'text', text: 'ok' }], _meta: { [RECEIPT_META_KEY]: receipt } };
    expect(readReceipt(result, [key.verifierKey]).ok).toBe(true);
  });

  it('refuses a receipt whose approval fields contradict its own signed record', () => {
    const forged = { ...receipt, approvers: [{ id: 'mallory', at: at(11) }] };
    expect(readReceipt(forged, [key.verifierKey])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('mallory'),
    });
    const otherDigest = { ...receipt, argumentsDigest: `hmac-sha256:${'0'.repeat(64)}` };
    expect(readReceipt(otherDigest, [key.verifierKey]).reason).toContain('argument digest');
    expect(readReceipt({ ...receipt, rule: 'fs-reads' }, [key.verifierKey]).reason).toContain(
      'rule fs-reads',
    );
    expect(readReceipt({ ...receipt, policyVersion: 'v0' }, [key.verifierKey]).reason).toContain(
      'policy version v0',
    );
  });

  it('refuses another key, an altered proof and an altered line', () => {
    expect(readReceipt(receipt, [testKey('other').verifierKey]).reason).toContain('does not verify');
    const proof = receipt.inclusionProof as string[];
    const altered = {
      ...receipt,
      inclusionProof: [proof[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0')), ...proof.slice(1)],
    };
    expect(readReceipt(altered, [key.verifierKey]).ok).toBe(false);
    const line = (receipt.line as string).replace('"isError":false', '"isError":true');
    expect(readReceipt({ ...receipt, line }, [key.verifierKey]).reason).toContain('does not hash');
  });

  it('without the line, proves the record is in the log and only states the rest', () => {
    const { line: _line, ...bare } = receipt;
    const facts = readReceipt(bare, [key.verifierKey]);
    expect(facts).toMatchObject({ ok: true, approvalId: 'a-exec', confirmed: [] });
    expect(facts.record).toBeUndefined();
  });
});
