import { join } from 'node:path';
import { isGatehouseError } from '../errors.js';
import { parseCheckpoint } from './checkpoint.js';
import {
  CHECKPOINTS_FILE,
  listSegments,
  readCheckpointFile,
  readLogLines,
  type CheckpointEntry,
  type LogItem,
  type LogLine,
  type Segment,
  type TornTail,
} from './files.js';
import { KeyRotationSchema } from './keys.js';
import { leafHash, merkleTree, verifyConsistency, type MerkleTree } from './merkle.js';
import { keyLabel, openNote, parseNote, parseVerifierKey, type NoteVerifier } from './note.js';
import { GENESIS_PREV, isLineProblem, parseLine, type AuditLine, type LineProblem } from './record.js';

/**
 * Reads a log directory and checks all of it: every line, the link of each record to the one before,
 * the Merkle tree, and every checkpoint (its signature, its root, its consistency with the one
 * before). Start-up and `verify` share it; they differ in what they do with a torn last line (start-up
 * repairs it) and in whether they demand canonical JSON.
 *
 * The first problem stops the scan and is named as precisely as the evidence allows: a record whose
 * hash no longer matches the `prev` of the next one was edited; a missing seq is a deletion unless the
 * record turns up later (a reordering); a record that the next one skips over was inserted.
 */

export type ProblemReason =
  /** A line is not a valid audit line: damaged, or edited by hand. */
  | 'malformed'
  /** A record's content changed after it was written. */
  | 'edited'
  | 'deleted'
  | 'reordered'
  | 'inserted'
  /** A segment's name promises another first record than it holds. */
  | 'misnamed'
  /** Bytes after the last newline of a file: what a crash leaves; start-up repairs it. */
  | 'torn-line'
  /** A checkpoint commits to more records than the log holds. */
  | 'truncated'
  /** The tree at a checkpoint's size has another root than the checkpoint signed. */
  | 'checkpoint-mismatch'
  /** No known key signed a checkpoint (it was signed with another key). */
  | 'checkpoint-unknown-key'
  | 'checkpoint-bad-signature'
  /** A checkpoint line, note or body is malformed, or is for another log. */
  | 'checkpoint-invalid'
  /** Checkpoints out of size order, or two that no consistency proof joins. */
  | 'checkpoint-inconsistent';

export interface AuditProblem {
  reason: ProblemReason;
  /** One sentence naming the record (or checkpoint) and what is wrong with it. */
  message: string;
  /** The record concerned, by seq (for a deletion, the first missing one). */
  seq?: number;
  /** Where the line or checkpoint is: `file:line`. */
  at?: string;
}

export interface VerifiedCheckpoint {
  /** `file:line` of its copy. */
  source: string;
  origin: string;
  size: number;
  rootHash: Buffer;
  /** `<name>+<key id>` of the known key that verified it. */
  key: string;
  note: string;
}

export interface SegmentState {
  segment: Segment;
  /** Bytes of complete lines (where a torn tail starts). */
  bytes: number;
  /** `time` of its first record, when it has one and it was read. */
  firstTime?: string;
}

export interface ScanOptions {
  /** The keys checkpoints may be signed with; keys announced by rotation records are learnt on the way. */
  verifiers: readonly NoteVerifier[];
  /** The log's origin; by default the first checkpoint's. */
  origin?: string;
  /** Demand RFC 8785 canonical lines (costs a serialisation per line). */
  canonical: boolean;
  /** Check lines from this seq on; earlier ones are only hashed. */
  from?: number;
  /** More checkpoint files to check against the log, such as a mirror's copy. */
  extraCheckpointFiles?: readonly string[];
}

export interface ScanResult {
  tree: MerkleTree;
  problem?: AuditProblem;
  /** The last segment's torn tail, and the seq the torn record would have had. */
  torn?: TornTail & { seq: number };
  /** The checkpoint file's torn tail. */
  checkpointsTorn?: TornTail;
  /** Verified checkpoints, by size. */
  checkpoints: VerifiedCheckpoint[];
  segments: SegmentState[];
  /** The keys that verified, or were learnt from rotation records. */
  trusted: NoteVerifier[];
}

interface PendingCheckpoint {
  source: string;
  note: string;
  size: number;
}

const hex = (hash: Uint8Array): string => Buffer.from(hash).toString('hex');
const at = (line: LogLine): string => `${line.segment.path}:${line.line}`;
const range = (first: number, last: number): string =>
  first === last ? `record ${first} is` : `records ${first} to ${last} are`;

export async function scanLog(dir: string, options: ScanOptions): Promise<ScanResult> {
  const trusted = [...options.verifiers];
  const tree = merkleTree();
  const checkpoints: VerifiedCheckpoint[] = [];
  const segments: SegmentState[] = [];
  const result = (problem?: AuditProblem, extra: Partial<ScanResult> = {}): ScanResult => ({
    tree,
    problem,
    checkpoints,
    segments,
    trusted,
    ...extra,
  });

  const own = await readCheckpointFile(join(dir, CHECKPOINTS_FILE));
  const extra = await Promise.all(
    (options.extraCheckpointFiles ?? []).map((file) => readCheckpointFile(file, true)),
  );
  const loaded = loadCheckpoints(
    own.entries,
    extra.flatMap((file) => file.entries),
    options.origin,
  );
  if ('reason' in loaded) return result(loaded, { checkpointsTorn: own.torn });
  const pending = loaded;

  const rotations: { seq: number; previousKey: string; nextKey: string }[] = [];
  const learn = (line: AuditLine): void => {
    const rotation = KeyRotationSchema.safeParse(line.record);
    if (rotation.success) rotations.push({ seq: line.seq, ...rotation.data });
  };

  /** Checks every checkpoint of the tree's current size. */
  const checkpointsAtSize = (): AuditProblem | undefined => {
    while (pending.length > 0 && pending[0]!.size === tree.size) {
      const entry = pending.shift()!;
      const checked = checkCheckpoint(entry, tree, trusted, checkpoints.at(-1), options.from ?? 0);
      if ('reason' in checked) return checked;
      checkpoints.push(checked);
      // A rotation record that a checkpoint of a trusted key covers vouches for the next key.
      for (const rotation of rotations.filter((r) => r.seq < entry.size)) {
        rotations.splice(rotations.indexOf(rotation), 1);
        if (!trusted.some((v) => v.key === rotation.previousKey)) continue;
        if (trusted.some((v) => v.key === rotation.nextKey)) continue;
        try {
          trusted.push(parseVerifierKey(rotation.nextKey));
        } catch {
          // An unreadable key announced is no key: later checkpoints signed with it will not verify.
        }
      }
    }
    return undefined;
  };

  const atSize = (): ScanResult | undefined => {
    const problem = checkpointsAtSize();
    return problem && result(problem, { checkpointsTorn: own.torn });
  };

  const from = options.from ?? 0;
  const lines = readLogLines(await listSegments(dir));
  let previous: LogLine | undefined;
  for await (const item of lines) {
    if (item.kind === 'segment') {
      segments.push({ segment: item.segment, bytes: 0 });
      if (item.empty && item.segment.firstSeq !== tree.size) {
        return result({
          reason: 'misnamed',
          seq: tree.size,
          at: item.segment.path,
          message: `${item.segment.path} is empty but named for record ${item.segment.firstSeq}; the next record is ${tree.size}`,
        });
      }
      continue;
    }
    if (item.kind === 'torn') {
      return (
        atSize() ?? finish({ file: item.file, offset: item.offset, length: item.length, seq: tree.size })
      );
    }
    const hash = leafHash(item.bytes);
    const state = segments.at(-1)!;
    if (tree.size < from && !item.unterminated) {
      // Unchecked, but a rotation record still announces a key.
      if (item.bytes.includes('"audit.key_rotated"')) {
        const line = parseLine(item.bytes, false);
        if (!isLineProblem(line)) learn(line);
      }
    } else {
      const line: AuditLine | LineProblem = item.unterminated
        ? { detail: 'the line does not end in a newline, yet another segment follows it' }
        : parseLine(item.bytes, options.canonical);
      if (isLineProblem(line)) return result(malformed(line, item, tree.size));
      const link = tree.size === 0 ? GENESIS_PREV : hex(tree.leafHash(tree.size - 1));
      if (line.seq !== tree.size || line.prev !== link) {
        return result(await classify({ line, item, hash, previous, tree, rest: lines }));
      }
      if (item.line === 1 && line.seq !== item.segment.firstSeq) {
        return result({
          reason: 'misnamed',
          seq: line.seq,
          at: at(item),
          message: `${item.segment.path} is named for record ${item.segment.firstSeq} but starts with record ${line.seq}`,
        });
      }
      if (item.line === 1) state.firstTime = line.time;
      learn(line);
    }
    // The checkpoints of the size before this line, only now: a problem this line shows (it does not
    // link to the record before) names the record more precisely than a root that differs.
    const problem = checkpointsAtSize();
    if (problem) return result(problem);
    tree.append(hash);
    state.bytes = item.offset + item.bytes.length + 1;
    previous = item;
  }
  return atSize() ?? finish(undefined);

  function finish(torn: ScanResult['torn']): ScanResult {
    const beyond = pending.find((entry) => entry.size > tree.size);
    if (beyond) {
      return result(
        {
          reason: 'truncated',
          seq: tree.size,
          at: beyond.source,
          message:
            `the checkpoint at ${beyond.source} commits to ${beyond.size} records but the log holds ${tree.size}: ` +
            `${range(tree.size, beyond.size - 1)} gone`,
        },
        { torn, checkpointsTorn: own.torn },
      );
    }
    const tail = torn ?? own.torn;
    const problem: AuditProblem | undefined = tail && {
      reason: 'torn-line',
      seq: torn?.seq,
      at: `${tail.file}:+${tail.offset}`,
      message:
        `${tail.file} ends in ${tail.length} bytes without a newline at offset ${tail.offset}: ` +
        'a write cut short by a crash, which the next start of Gatehouse removes',
    };
    return result(problem, { torn, checkpointsTorn: own.torn });
  }
}

function malformed(line: LineProblem, item: LogLine, expected: number): AuditProblem {
  const claims = line.seq !== undefined && line.seq !== expected ? ` (it claims seq ${line.seq})` : '';
  return {
    reason: 'malformed',
    seq: expected,
    at: at(item),
    message: `${at(item)}: record ${expected} is not a valid audit line${claims}: ${line.detail}; it was edited or damaged`,
  };
}

interface Anomaly {
  line: AuditLine;
  item: LogLine;
  hash: Buffer;
  previous: LogLine | undefined;
  tree: MerkleTree;
  rest: AsyncGenerator<LogItem>;
}

/**
 * Names what happened at the first line whose seq or link is wrong, from that line, the one before,
 * the one after and the seqs further on (read only now, when the scan has stopped anyway).
 */
async function classify({ line, item, hash, previous, tree, rest }: Anomaly): Promise<AuditProblem> {
  const e = tree.size;
  const s = line.seq;
  const linkTo = (seq: number): string => (seq < 0 ? GENESIS_PREV : hex(tree.leafHash(seq)));
  const later: { line: AuditLine; hash: string }[] = [];
  for await (const item of rest) {
    if (item.kind !== 'line') continue;
    const parsed = parseLine(item.bytes, false);
    if (!isLineProblem(parsed)) later.push({ line: parsed, hash: hex(leafHash(item.bytes)) });
  }
  const next = later[0];
  // The line after this one continues the log as if this one were not there (and this one does not
  // link to it, as a record moved up from further on would).
  const skipped =
    next !== undefined && next.line.seq === e && next.line.prev === linkTo(e - 1) && line.prev !== next.hash;
  const inserted = (detail: string): AuditProblem => ({
    reason: 'inserted',
    seq: e,
    at: at(item),
    message: `${at(item)}: ${e === 0 ? 'the first line' : `the line after record ${e - 1}`} was inserted: ${detail}`,
  });

  // In its place (linked to the record before, followed by the next one) but numbered otherwise.
  if (s !== e && line.prev === linkTo(e - 1) && (next === undefined || next.line.seq === e + 1)) {
    return {
      reason: 'edited',
      seq: e,
      at: at(item),
      message: `${at(item)}: record ${e} was changed after it was written: it now claims seq ${s}`,
    };
  }
  if (s > e) {
    if (skipped)
      return inserted(`it claims seq ${s}, and the line after it is record ${e}, linked to record ${e - 1}`);
    if (later.some((l) => l.line.seq === e)) {
      return {
        reason: 'reordered',
        seq: e,
        at: at(item),
        message: `${at(item)}: record ${e} is out of place: record ${s} stands where it belongs, and record ${e} comes later`,
      };
    }
    return {
      reason: 'deleted',
      seq: e,
      at: at(item),
      message: `${at(item)}: ${range(e, s - 1)} missing: record ${s} follows record ${e - 1}`,
    };
  }
  if (s === e) {
    if (skipped)
      return inserted(`it claims seq ${s}, which the line after it holds, linked to record ${e - 1}`);
    if (e === 0) {
      return {
        reason: 'edited',
        seq: 0,
        at: at(item),
        message: `${at(item)}: record 0 does not start the log (its prev is not zeros)`,
      };
    }
    const where = previous ? at(previous) : `record ${e - 1}`;
    return {
      reason: 'edited',
      seq: e - 1,
      at: previous ? at(previous) : undefined,
      message:
        `${where}: record ${e - 1} was changed after it was written: its hash no longer matches the one record ${e} ` +
        `holds (or a record between them was removed)`,
    };
  }
  // s < e: a seq the log already has.
  if (s === e - 1 && line.prev === linkTo(e - 2) && previous !== undefined) {
    const copy = Buffer.compare(hash, tree.leafHash(e - 1)) === 0;
    if (!copy && next !== undefined && next.line.prev === hex(hash)) {
      return {
        reason: 'inserted',
        seq: e - 1,
        at: at(previous),
        message: `${at(previous)}: this line, claiming seq ${e - 1}, was inserted: the record after it claims the same seq and the log continues from that one`,
      };
    }
    return inserted(`it repeats seq ${s}${copy ? ' (a copy of the line before)' : ''}`);
  }
  const repeat = Buffer.compare(hash, tree.leafHash(s)) === 0 ? `, a copy of record ${s}` : '';
  return inserted(`it claims seq ${s}, which the log already has${repeat}`);
}

function loadCheckpoints(
  own: readonly CheckpointEntry[],
  extra: readonly CheckpointEntry[],
  origin: string | undefined,
): PendingCheckpoint[] | AuditProblem {
  const invalid = (source: string, detail: string): AuditProblem => ({
    reason: 'checkpoint-invalid',
    at: source,
    message: `${source}: ${detail}`,
  });
  const pending: PendingCheckpoint[] = [];
  let expectedOrigin = origin;
  let lastOwnSize = 0;
  for (const [i, entry] of [...own, ...extra].entries()) {
    if (entry.note === undefined) return invalid(entry.source, `the checkpoint line is ${entry.problem}`);
    let size: number;
    try {
      const checkpoint = parseCheckpoint(parseNote(entry.note).text);
      expectedOrigin ??= checkpoint.origin;
      if (checkpoint.origin !== expectedOrigin) {
        return invalid(
          entry.source,
          `the checkpoint is for the log "${checkpoint.origin}", not "${expectedOrigin}"`,
        );
      }
      size = checkpoint.size;
    } catch (error) {
      if (!isGatehouseError(error, 'AUDIT_NOTE_INVALID')) throw error;
      return invalid(entry.source, error.message);
    }
    if (i < own.length) {
      if (size < lastOwnSize) {
        return {
          reason: 'checkpoint-inconsistent',
          at: entry.source,
          message: `${entry.source}: the checkpoint of size ${size} follows one of size ${lastOwnSize}: the log cannot shrink`,
        };
      }
      lastOwnSize = size;
    }
    pending.push({ source: entry.source, note: entry.note, size });
  }
  // Stable: own checkpoints keep their order, and come before a mirror's copies of the same size.
  return pending.sort((a, b) => a.size - b.size);
}

function checkCheckpoint(
  entry: PendingCheckpoint,
  tree: MerkleTree,
  trusted: readonly NoteVerifier[],
  previous: VerifiedCheckpoint | undefined,
  checkedFrom: number,
): VerifiedCheckpoint | AuditProblem {
  const problem = (reason: ProblemReason, detail: string): AuditProblem => ({
    reason,
    seq: entry.size > 0 ? entry.size - 1 : undefined,
    at: entry.source,
    message: `${entry.source}: ${detail}`,
  });
  let opened;
  try {
    opened = openNote(entry.note, trusted);
  } catch (error) {
    if (!isGatehouseError(error, 'AUDIT_NOTE_INVALID')) throw error;
    if (error.context.reason === 'unverified') {
      const by = (error.context.unverified as { name: string; keyId: number }[])
        .map((s) => keyLabel(s.name, s.keyId))
        .join(', ');
      return problem(
        'checkpoint-unknown-key',
        `the checkpoint of size ${entry.size} is signed by ${by}, which is not a known key`,
      );
    }
    return problem(
      error.context.reason === 'bad-signature' ? 'checkpoint-bad-signature' : 'checkpoint-invalid',
      `the checkpoint of size ${entry.size}: ${error.message}`,
    );
  }
  const checkpoint = parseCheckpoint(opened.text);
  const key = keyLabel(opened.signatures[0]!.name, opened.signatures[0]!.keyId);
  const root = tree.root();
  if (Buffer.compare(root, checkpoint.rootHash) !== 0) {
    const since = previous ? previous.size : 0;
    const mismatch = `the log does not match the checkpoint of size ${entry.size} signed by ${key}`;
    // Records checked one by one link each to the one before, so only the last can have changed alone.
    if (checkedFrom > since) {
      return {
        ...problem(
          'checkpoint-mismatch',
          `${mismatch}: a record from ${since} to ${entry.size - 1} was changed (records before ${checkedFrom} were only hashed)`,
        ),
        seq: since,
      };
    }
    return problem(
      'checkpoint-mismatch',
      `${mismatch}: record ${entry.size - 1} was changed, or every record from ${since} on was rewritten`,
    );
  }
  if (previous && previous.size > 0 && previous.size < entry.size) {
    const proof = tree.consistencyProof(previous.size, entry.size);
    if (!verifyConsistency(previous.size, entry.size, previous.rootHash, checkpoint.rootHash, proof)) {
      return problem(
        'checkpoint-inconsistent',
        `the checkpoint of size ${entry.size} is not consistent with ${previous.source}`,
      );
    }
  }
  return {
    source: entry.source,
    origin: checkpoint.origin,
    size: entry.size,
    rootHash: checkpoint.rootHash,
    key,
    note: entry.note,
  };
}
