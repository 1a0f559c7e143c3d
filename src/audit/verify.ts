import { readFile, stat } from 'node:fs/promises';
import { GatehouseError } from '../errors.js';
import { listSegments } from './files.js';
import { corruptLog } from './log.js';
import { parseVerifierKey, type NoteVerifier } from './note.js';
import { makeReceipt, type Receipt } from './receipt.js';
import { scanLog, type AuditProblem } from './scan.js';

/**
 * Offline verification of a log directory with the verifier keys an auditor holds: every line parses
 * and is canonical, seqs run without gaps, each record links to the one before, the Merkle tree
 * rebuilds to the root of every checkpoint, every checkpoint is signed by a known key (or by a key a
 * verified rotation record announced), and successive checkpoints are consistent. Checkpoint files
 * held elsewhere (`witnesses`, such as a mirror's copy) are checked against the log too: that is what
 * catches a log truncated or rewritten together with its own checkpoint file.
 */

export interface VerifyOptions {
  /** Verifier keys, as objects or key strings. */
  keys: readonly (NoteVerifier | string)[];
  /** Check records from this seq on; earlier ones are only hashed (the tree needs them). */
  from?: number;
  /** The origin the checkpoints must name; by default the first checkpoint's. */
  origin?: string;
  witnesses?: readonly string[];
}

export interface VerifyReport {
  ok: boolean;
  dir: string;
  /** Records in the log (up to the first problem). */
  records: number;
  /** Of those, the ones whose lines were checked (from `from` on). */
  checked: number;
  checkpoints: number;
  /** The checkpoint everything was checked against. */
  latestCheckpoint?: { source: string; size: number; rootHash: string; key: string };
  /** Records no checkpoint covers yet: intact as far as their links show, but not yet signed. */
  uncovered?: { from: number; to: number };
  /** The first problem; absent when `ok`. */
  problem?: AuditProblem;
}

const verifiersOf = (keys: VerifyOptions['keys']): NoteVerifier[] =>
  keys.map((key) => (typeof key === 'string' ? parseVerifierKey(key) : key));

/** A log directory that is not there is an error, not an empty log that verifies. */
async function checkDirectory(dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(), { code: 'ENOTDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new GatehouseError(
      'AUDIT_LOG_UNAVAILABLE',
      `${dir}: no audit log directory here (${code ?? (error as Error).message})`,
      { dir, errno: code },
    );
  }
}

export async function verifyAuditLog(dir: string, options: VerifyOptions): Promise<VerifyReport> {
  await checkDirectory(dir);
  const from = options.from ?? 0;
  const scan = await scanLog(dir, {
    verifiers: verifiersOf(options.keys),
    origin: options.origin,
    canonical: true,
    from,
    extraCheckpointFiles: options.witnesses,
  });
  const records = scan.tree.size;
  const latest = scan.checkpoints.at(-1);
  const covered = latest?.size ?? 0;
  return {
    ok: scan.problem === undefined,
    dir,
    records,
    checked: Math.max(0, records - from),
    checkpoints: scan.checkpoints.length,
    ...(latest && {
      latestCheckpoint: {
        source: latest.source,
        size: latest.size,
        rootHash: latest.rootHash.toString('hex'),
        key: latest.key,
      },
    }),
    ...(records > covered && { uncovered: { from: covered, to: records - 1 } }),
    ...(scan.problem && { problem: scan.problem }),
  };
}

/**
 * A receipt for one record against the log's latest verified checkpoint, with the record's line.
 * Refuses a log that does not verify (AUDIT_LOG_CORRUPT) and a record no checkpoint covers yet.
 */
export async function inclusionProofFor(
  dir: string,
  seq: number,
  keys: VerifyOptions['keys'],
): Promise<Receipt> {
  await checkDirectory(dir);
  const scan = await scanLog(dir, { verifiers: verifiersOf(keys), canonical: false });
  if (scan.problem && scan.problem.reason !== 'torn-line') throw corruptLog(dir, scan.problem);
  const latest = scan.checkpoints.at(-1);
  if (latest === undefined || !Number.isSafeInteger(seq) || seq < 0 || seq >= latest.size) {
    throw new GatehouseError(
      'AUDIT_PROOF_UNAVAILABLE',
      `record ${seq} is not covered by a signed checkpoint of ${dir} (the latest covers ${latest?.size ?? 0} records)`,
      { dir, seq, checkpointSize: latest?.size ?? 0 },
    );
  }
  const segment = (await listSegments(dir)).filter((s) => s.firstSeq <= seq).at(-1)!;
  const line = (await readFile(segment.path, 'utf8')).split('\n')[seq - segment.firstSeq]!;
  return makeReceipt(scan.tree, seq, latest, line);
}
