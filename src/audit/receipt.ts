import { z } from 'zod';
import { isGatehouseError } from '../errors.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
import { leafHash, verifyInclusion, type MerkleTree } from './merkle.js';
import { keyLabel, parseVerifierKey, type NoteVerifier } from './note.js';
import { isLineProblem, parseLine } from './record.js';

/**
 * The evidence that one record is in the log: its leaf hash, an inclusion proof, and the signed
 * checkpoint the proof leads to. Anyone holding a verifier key checks it offline, without the log.
 * Hashes are lowercase hex; the checkpoint is the signed note as the log wrote it.
 */

const HexHash = z.string().regex(/^[0-9a-f]{64}$/, 'a hash is 64 lowercase hex characters');

export const ReceiptSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  leafHash: HexHash,
  treeSize: z.number().int().positive(),
  inclusionProof: z.array(HexHash),
  checkpoint: z.string(),
  /** The record's line itself, when the receipt's holder may see it. */
  line: z.string().optional(),
});
export type Receipt = z.infer<typeof ReceiptSchema>;

export function makeReceipt(
  tree: MerkleTree,
  seq: number,
  checkpoint: { note: string; size: number },
  line?: string,
): Receipt {
  return {
    seq,
    leafHash: tree.leafHash(seq).toString('hex'),
    treeSize: checkpoint.size,
    inclusionProof: tree.inclusionProof(seq, checkpoint.size).map((hash) => hash.toString('hex')),
    checkpoint: checkpoint.note,
    ...(line === undefined ? {} : { line }),
  };
}

export type ReceiptVerdict =
  { ok: true; checkpoint: Checkpoint; key: string } | { ok: false; reason: string };

/**
 * Checks a receipt against verifier keys (objects or key strings): the checkpoint's signature, that
 * the proof joins the leaf to the checkpoint's root, and the line, when it is there, to the leaf.
 */
export function verifyReceipt(receipt: unknown, keys: readonly (NoteVerifier | string)[]): ReceiptVerdict {
  const parsed = ReceiptSchema.safeParse(receipt);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      ok: false,
      reason: `not a receipt: ${issue.path.map(String).join('.') || 'receipt'}: ${issue.message}`,
    };
  }
  const r = parsed.data;
  let opened;
  try {
    opened = openCheckpoint(
      r.checkpoint,
      keys.map((key) => (typeof key === 'string' ? parseVerifierKey(key) : key)),
    );
  } catch (error) {
    if (isGatehouseError(error, 'AUDIT_NOTE_INVALID') || isGatehouseError(error, 'AUDIT_KEY_INVALID')) {
      return { ok: false, reason: `the checkpoint does not verify: ${error.message}` };
    }
    throw error;
  }
  const { checkpoint } = opened;
  if (checkpoint.size !== r.treeSize) {
    return {
      ok: false,
      reason: `the proof is for a tree of ${r.treeSize} records, the checkpoint for ${checkpoint.size}`,
    };
  }
  if (r.line !== undefined) {
    if (leafHash(r.line).toString('hex') !== r.leafHash) {
      return { ok: false, reason: 'the record line does not hash to the leaf hash' };
    }
    const line = parseLine(Buffer.from(r.line, 'utf8'), true);
    if (isLineProblem(line) || line.seq !== r.seq) {
      return { ok: false, reason: `the record line is not the canonical line of record ${r.seq}` };
    }
  }
  const proof = r.inclusionProof.map((hash) => Buffer.from(hash, 'hex'));
  if (!verifyInclusion(r.seq, r.treeSize, Buffer.from(r.leafHash, 'hex'), proof, checkpoint.rootHash)) {
    return {
      ok: false,
      reason: `the inclusion proof does not lead from record ${r.seq} to the checkpoint's root`,
    };
  }
  const signer = opened.signatures[0]!;
  return { ok: true, checkpoint, key: keyLabel(signer.name, signer.keyId) };
}
