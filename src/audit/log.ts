import { constants as fsConstants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { GatehouseError, isGatehouseError } from '../errors.js';
import { lockStore, type StoreLock } from '../store/lock.js';
import { serial } from '../shared/serial.js';
import { signCheckpoint } from './checkpoint.js';
import { CHECKPOINTS_FILE, checkpointLine, segmentName } from './files.js';
import { HASH_SIZE, leafHashHex, type MerkleTree } from './merkle.js';
import { checkpointMirror, type CheckpointMirror } from './mirror.js';
import { keyLabel, parseVerifierKey, type NoteSigner, type NoteVerifier } from './note.js';
import { AuditLogSettingsSchema, type AuditLogSettings } from './options.js';
import { makeReceipt, type Receipt } from './receipt.js';
import { canonicalRecord, formatLine, type AuditRecord } from './record.js';
import { scanLog, type AuditProblem, type VerifiedCheckpoint } from './scan.js';

/**
 * The append-only audit log of one directory (layout in files.ts, line format in record.ts).
 *
 * - One writer: the directory is locked (`audit.lock`), and appends go through one queue in call order,
 *   so concurrent callers get one total order and seqs without gaps.
 * - Durability: the promise of `append` resolves once the record is on disk (written and fsynced),
 *   never before. `sync: true` starts that fsync at once; otherwise the record waits up to
 *   `groupCommit.maxDelayMs` (or until `maxRecords` are waiting) to share one fsync with others, and
 *   a record nobody waits for (`enqueue`) up to `groupCommit.queuedMaxDelayMs`. A
 *   failed write rejects the records of its batch (they are not in the log: the file is cut back to
 *   where it was), and later appends try again; if the file cannot be cut back, the log refuses every
 *   append until a restart repairs it.
 * - Checkpoints: signed every `checkpoint.everyRecords` records or `everySeconds` seconds, at start-up
 *   when records are not yet covered (after a crash), and at close; appended to checkpoints.jsonl only
 *   after the records they cover are durable, and copied to the mirror.
 * - Start-up reads and checks everything (scan.ts); a torn last line is cut off and reported to
 *   `onRepair`; any other mismatch refuses to open with AUDIT_LOG_CORRUPT naming the first bad record.
 */

export interface AuditLogOptions {
  dir: string;
  /** Signs checkpoints. */
  signer: NoteSigner;
  /** Keys of earlier checkpoints (after a rotation); the signer's own is always known. */
  verifiers?: readonly NoteVerifier[];
  /** The log's identity in its checkpoints; by default the existing checkpoints', else the key's name. */
  origin?: string;
  /** Defaults fill what is left out. */
  settings?: z.input<typeof AuditLogSettingsSchema>;
  /** The clock of record times (UTC). */
  now?: () => Date;
  /** A repair start-up made (a torn last line cut off): for the caller to log and audit. */
  onRepair?: (repair: AuditRepair) => void;
  onCheckpoint?: (checkpoint: VerifiedCheckpoint) => void;
  /** Failures nobody awaits: a timed checkpoint that could not be written, a mirror copy that failed. */
  onError?: (error: GatehouseError) => void;
}

export interface AuditRepair {
  kind: 'torn-line';
  file: string;
  /** Where the file was cut, and how many bytes went. */
  offset: number;
  length: number;
  /** The seq the torn record would have had (absent for the checkpoint file). */
  seq?: number;
}

export interface Appended {
  seq: number;
  /** Hex RFC 6962 leaf hash of the record's line. */
  leafHash: string;
  time: string;
  /** The line as written (without its newline): what a receipt may carry. */
  line: string;
}

export interface AuditLogStatus {
  /** 'failing': the last write failed, later ones may succeed; 'broken': appends refused until restart. */
  state: 'ok' | 'failing' | 'broken' | 'closed';
  size: number;
  checkpointSize: number;
  lastError?: string;
}

export interface AuditLog {
  readonly dir: string;
  readonly origin: string;
  /** Durable records. */
  readonly size: number;
  /**
   * Appends `record`, which must not change afterwards: a grouped (not `sync`) record is serialised
   * when its batch is written, so the caller pays only for queueing it.
   */
  append(record: AuditRecord, options?: { sync?: boolean }): Promise<Appended>;
  /**
   * A grouped append nobody waits for (an allowed call's records on the hot path): no promise, no
   * callbacks. False when the log takes nothing (closed, broken, not an object). A batch that cannot
   * be written shows in status() as with `append` and is reported to onError; a record that cannot
   * be serialised is left out of its batch, reported to onError, and shows in status() until a later
   * batch is written.
   */
  enqueue(record: AuditRecord): boolean;
  /** Writes whatever waits, then signs a checkpoint of every record (unless the latest covers them). */
  checkpoint(): Promise<VerifiedCheckpoint>;
  latestCheckpoint(): VerifiedCheckpoint | undefined;
  /**
   * A receipt for the record against the latest checkpoint (with the record's line, when given);
   * AUDIT_PROOF_UNAVAILABLE if the checkpoint does not cover it.
   */
  inclusionProof(seq: number, line?: string): Receipt;
  /**
   * Switches the checkpoint key: a checkpoint with the old key first (covering the rotation record the
   * caller appended, so the old key vouches for the new), then one with the new key.
   */
  useSigner(signer: NoteSigner): Promise<void>;
  status(): AuditLogStatus;
  /** Writes what waits, signs a last checkpoint, waits for the mirror, releases the lock. */
  close(): Promise<void>;
}

interface Waiting {
  record: AuditRecord;
  /** Its canonical JSON: made at once for a synced append, at the batch's write for a grouped one. */
  text?: string;
  time: string;
  /** Absent for an enqueued record: nobody waits for it, and its failure shows in status(). */
  resolve?: (appended: Appended) => void;
  reject?: (error: unknown) => void;
}

interface OpenFile {
  path: string;
  handle: FileHandle;
  /** Bytes known to be durable: where a failed write is cut back to. */
  bytes: number;
}

function unavailable(message: string, context: Record<string, unknown>, cause?: unknown): GatehouseError {
  return new GatehouseError(
    'AUDIT_LOG_UNAVAILABLE',
    message,
    context,
    cause === undefined ? undefined : { cause },
  );
}

const errno = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code ?? (error as Error).message ?? String(error);

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  await handle.sync().finally(() => handle.close());
}

/**
 * Where the platform has it, files are opened with O_DSYNC: a write returns once its data is durable,
 * as write then fdatasync would, in one trip to the thread pool instead of two (on the hot path of
 * every allowed call's records).
 */
const DSYNC = fsConstants.O_DSYNC as number | undefined;
const APPEND_FLAGS = fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | (DSYNC ?? 0);

/**
 * How long a commit serialises and hashes before it lets the event loop turn. A batch holds up to
 * `queuedMaxDelayMs` of allowed calls, three records each: a few hundred on stdio. Done in one go it
 * held up every call that arrived meanwhile by 2–3 ms, which set stdio's p99; in slices, a call waits
 * for one slice at most. By time, not by count: a record costs a few µs when the batch's code is hot
 * and several times that when it is not.
 */
const SLICE_MS = 0.25;

/** `due()` once a slice has run its time; `next()` lets the event loop turn and starts the next one. */
function slices(ms: number) {
  let start = performance.now();
  return {
    due: () => performance.now() - start >= ms,
    async next(): Promise<void> {
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    },
  };
}

async function openAppend(path: string, dir: string): Promise<OpenFile> {
  const handle = await open(path, APPEND_FLAGS, 0o600);
  try {
    const { size } = await handle.stat();
    await syncDirectory(dir);
    return { path, handle, bytes: size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function truncateFile(path: string, length: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function lockLog(dir: string): Promise<StoreLock> {
  try {
    return await lockStore(join(dir, 'audit'));
  } catch (error) {
    if (!isGatehouseError(error, 'STORE_LOCKED')) throw error;
    const pid = error.context.pid === undefined ? '' : `, pid ${String(error.context.pid)}`;
    throw new GatehouseError(
      'AUDIT_LOG_LOCKED',
      `${dir}: another process writes this audit log (lock file ${String(error.context.lockFile)}${pid}); ` +
        'only one Gatehouse may write a log',
      { dir, ...error.context },
      { cause: error },
    );
  }
}

export function corruptLog(dir: string, problem: AuditProblem): GatehouseError {
  return new GatehouseError(
    'AUDIT_LOG_CORRUPT',
    `${dir}: the audit log does not match its records or checkpoints: ${problem.message}`,
    { dir, problem },
  );
}

export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { dir } = options;
  const settings = AuditLogSettingsSchema.parse(options.settings ?? {});
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw unavailable(`${dir}: cannot create the audit log directory (${errno(error)})`, { dir }, error);
  }
  const lock = await lockLog(dir);
  try {
    return await start(options, settings, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function start(
  options: AuditLogOptions,
  settings: AuditLogSettings,
  lock: StoreLock,
): Promise<AuditLog> {
  const { dir } = options;
  const now = options.now ?? (() => new Date());
  const own = parseVerifierKey(options.signer.verifierKey);
  const verifiers = [own, ...(options.verifiers ?? []).filter((v) => v.key !== own.key)];
  const scan = await scanLog(dir, { verifiers, origin: options.origin, canonical: false });
  if (scan.problem && scan.problem.reason !== 'torn-line') throw corruptLog(dir, scan.problem);
  for (const torn of [scan.torn, scan.checkpointsTorn]) {
    if (torn === undefined) continue;
    try {
      await truncateFile(torn.file, torn.offset);
    } catch (error) {
      throw unavailable(
        `${torn.file}: cannot cut off its torn last line (${errno(error)})`,
        { file: torn.file },
        error,
      );
    }
    options.onRepair?.({ kind: 'torn-line', ...torn });
  }

  const tree: MerkleTree = scan.tree;
  let signer = options.signer;
  const origin = options.origin ?? scan.checkpoints[0]?.origin ?? signer.name;
  let latest = scan.checkpoints.at(-1);
  let checkpointLines = scan.checkpoints.length;
  // The last line's hash, in hex as lines carry it.
  let prev: string = (tree.size === 0 ? Buffer.alloc(HASH_SIZE) : tree.leafHash(tree.size - 1)).toString(
    'hex',
  );
  const last = scan.segments.at(-1);
  let segment: OpenFile & { day?: string };
  let checkpoints: OpenFile | undefined;
  try {
    segment = {
      ...(await openAppend(last?.segment.path ?? join(dir, segmentName(tree.size)), dir)),
      day: last?.firstTime?.slice(0, 10),
    };
  } catch (error) {
    throw unavailable(`${dir}: cannot open the current audit segment (${errno(error)})`, { dir }, error);
  }

  const exclusive = serial();
  let waiting: Waiting[] = [];
  let groupTimer: NodeJS.Timeout | undefined;
  /** When the waiting batch is due (on the monotonic clock), while its timer is set. */
  let groupDue = Number.POSITIVE_INFINITY;
  let flushQueued = false;
  let closing: Promise<void> | undefined;
  let broken: GatehouseError | undefined;
  let lastError: GatehouseError | undefined;
  const failureOf = (error: unknown): GatehouseError =>
    isGatehouseError(error) ? error : unavailable(`${dir}: ${errno(error)}`, { dir }, error);
  const report = (error: unknown) => {
    lastError = failureOf(error);
    options.onError?.(lastError);
  };
  const mirror: CheckpointMirror | undefined =
    settings.mirror.dir !== undefined || settings.mirror.url !== undefined
      ? checkpointMirror(settings.mirror, (error) => options.onError?.(error))
      : undefined;

  /** Appends bytes and fsyncs; on failure cuts the file back, or marks the log broken if it cannot. */
  async function appendSynced(file: OpenFile, data: Buffer): Promise<void> {
    try {
      for (let offset = 0; offset < data.length;) {
        offset += (await file.handle.write(data, offset, data.length - offset)).bytesWritten;
      }
      if (DSYNC === undefined) await file.handle.datasync();
    } catch (error) {
      try {
        await file.handle.truncate(file.bytes);
        await file.handle.datasync();
      } catch {
        broken = unavailable(
          `${file.path}: a write failed (${errno(error)}) and the file could not be cut back to its last ` +
            'complete record; no record is accepted until Gatehouse restarts and repairs it',
          { file: file.path },
          error,
        );
      }
      throw unavailable(
        `${file.path}: the audit log cannot be written (${errno(error)})`,
        { file: file.path },
        error,
      );
    }
    file.bytes += data.length;
  }

  async function rotate(firstSeq: number): Promise<void> {
    const next = await openAppend(join(dir, segmentName(firstSeq)), dir);
    if (next.bytes > 0) {
      await next.handle.close();
      throw new GatehouseError('AUDIT_LOG_CORRUPT', `${next.path}: a new segment already holds data`, {
        file: next.path,
      });
    }
    await segment.handle.close();
    segment = next;
  }

  /** Writes a batch, as one write and one fsync a segment; resolves each record once durable. */
  async function commit(all: Waiting[]): Promise<void> {
    // A grouped record is serialised here, off its caller's path; one that cannot be is refused alone.
    // One nobody waits for is reported, and shows in status() until a later batch is written.
    const slice = slices(SLICE_MS);
    let unheard: unknown;
    const batch: Waiting[] = [];
    for (const item of all) {
      if (slice.due()) await slice.next();
      try {
        item.text ??= canonicalRecord(item.record, settings.maxRecordBytes);
        batch.push(item);
      } catch (error) {
        if (item.reject) item.reject(error);
        else unheard ??= error;
      }
    }
    if (unheard !== undefined) report(unheard);
    let settled = 0;
    try {
      while (settled < batch.length) {
        if (broken) throw broken;
        // Lines stay strings until the batch's one Buffer: each is hashed as a string, and the string is
        // what its Appended carries.
        const lines: { item: Waiting; line: string; hash: string }[] = [];
        let text = '';
        let bytes = segment.bytes;
        let day = segment.day;
        let link = prev;
        for (const item of batch.slice(settled)) {
          if (slice.due()) await slice.next();
          const seq = tree.size + lines.length;
          const line = formatLine(link, item.text!, seq, item.time);
          const size = Buffer.byteLength(line, 'utf8') + 1;
          const itemDay = item.time.slice(0, 10);
          const full =
            bytes > 0 &&
            (bytes + size > settings.segmentMaxBytes || (settings.rotateDaily && day !== itemDay));
          if (full && lines.length > 0) break;
          if (full) {
            await rotate(seq);
            [bytes, day] = [0, undefined];
          }
          const hash = leafHashHex(line);
          lines.push({ item, line, hash });
          text += `${line}\n`;
          bytes += size;
          day ??= itemDay;
          link = hash;
        }
        await appendSynced(segment, Buffer.from(text, 'utf8'));
        segment.day = day;
        prev = link;
        for (const { item, hash, line } of lines) {
          // The tree only grows, and whatever reads it beyond its size (proofs, checkpoints) waits for
          // this commit: a turn between two appends shows a reader nothing half-done.
          if (slice.due()) await slice.next();
          const seq = tree.size;
          tree.append(hash);
          item.resolve?.({ seq, leafHash: hash, time: item.time, line });
        }
        settled += lines.length;
        if (unheard === undefined) lastError = undefined;
      }
    } catch (error) {
      const lost = batch.slice(settled);
      const failure = failureOf(error);
      lastError = failure;
      for (const item of lost) item.reject?.(failure);
      // Records nobody waits for are lost with the batch: reported, as nobody else will hear of it.
      if (lost.some((item) => item.reject === undefined)) options.onError?.(failure);
    }
  }

  async function writeCheckpoint(): Promise<VerifiedCheckpoint> {
    if (broken) throw broken;
    const key = keyLabel(signer.name, signer.keyId);
    if (latest && latest.size === tree.size && latest.key === key) return latest;
    const signed = signCheckpoint({ origin, size: tree.size, rootHash: tree.root(), extensions: [] }, signer);
    checkpoints ??= await openAppend(join(dir, CHECKPOINTS_FILE), dir);
    await appendSynced(checkpoints, Buffer.from(checkpointLine(signed.note)));
    checkpointLines += 1;
    latest = {
      source: `${checkpoints.path}:${checkpointLines}`,
      origin,
      size: signed.checkpoint.size,
      rootHash: signed.checkpoint.rootHash,
      key,
      note: signed.note,
    };
    options.onCheckpoint?.(latest);
    mirror?.copy(signed.note, latest.size);
    return latest;
  }

  const uncovered = () => tree.size - (latest?.size ?? 0);

  async function flushWaiting(): Promise<void> {
    const batch = waiting;
    waiting = [];
    if (batch.length > 0) await commit(batch);
    if (uncovered() >= settings.checkpoint.everyRecords) await writeCheckpoint().catch(report);
  }

  function flush(): void {
    clearTimeout(groupTimer);
    groupTimer = undefined;
    groupDue = Number.POSITIVE_INFINITY;
    if (flushQueued) return;
    flushQueued = true;
    exclusive(() => {
      flushQueued = false;
      return flushWaiting();
    }).catch(report);
  }

  function queue(item: Waiting, sync: boolean): void {
    waiting.push(item);
    const { maxDelayMs, queuedMaxDelayMs, maxRecords } = settings.groupCommit;
    if (sync || waiting.length >= maxRecords) return flush();
    // A record somebody waits for brings the batch's deadline forward; one nobody waits for (an
    // allowed call's) may wait longer, so that calls a few milliseconds apart share a commit.
    const delay = item.resolve ? maxDelayMs : queuedMaxDelayMs;
    const due = performance.now() + delay;
    if (due >= groupDue) return;
    clearTimeout(groupTimer);
    groupDue = due;
    groupTimer = setTimeout(flush, delay);
  }

  // Records a crash left without a checkpoint get one now; failing that, the ticker tries again.
  if (uncovered() > 0) await exclusive(writeCheckpoint).catch(report);
  const ticker = setInterval(() => {
    if (uncovered() > 0 && !broken) exclusive(writeCheckpoint).catch(report);
  }, settings.checkpoint.everySeconds * 1000);
  ticker.unref();

  return {
    dir,
    origin,
    get size() {
      return tree.size;
    },
    append(record, { sync = false } = {}) {
      if (closing) return Promise.reject(unavailable(`${dir}: the audit log is closed`, { dir }));
      if (broken) return Promise.reject(broken);
      let text: string | undefined;
      if (sync) {
        try {
          text = canonicalRecord(record, settings.maxRecordBytes);
        } catch (error) {
          return Promise.reject(error);
        }
      } else if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        return Promise.reject(new GatehouseError('AUDIT_RECORD_INVALID', 'an audit record is a JSON object'));
      }
      return new Promise<Appended>((resolve, reject) =>
        queue(
          { record, ...(text === undefined ? {} : { text }), time: now().toISOString(), resolve, reject },
          sync,
        ),
      );
    },
    enqueue(record) {
      if (closing || broken) return false;
      if (record === null || typeof record !== 'object' || Array.isArray(record)) return false;
      queue({ record, time: now().toISOString() }, false);
      return true;
    },
    checkpoint: () =>
      exclusive(async () => {
        await flushWaiting();
        return writeCheckpoint();
      }),
    latestCheckpoint: () => latest,
    inclusionProof(seq, line) {
      if (latest === undefined || !Number.isSafeInteger(seq) || seq < 0 || seq >= latest.size) {
        throw new GatehouseError(
          'AUDIT_PROOF_UNAVAILABLE',
          `record ${seq} is not covered by a signed checkpoint yet (the latest covers ${latest?.size ?? 0} records)`,
          { seq, checkpointSize: latest?.size ?? 0 },
        );
      }
      return makeReceipt(tree, seq, latest, line);
    },
    useSigner: (next) =>
      exclusive(async () => {
        await flushWaiting();
        if (tree.size > 0) await writeCheckpoint();
        signer = next;
        if (tree.size > 0) await writeCheckpoint();
      }),
    status: () => ({
      state: closing ? 'closed' : broken ? 'broken' : lastError ? 'failing' : 'ok',
      size: tree.size,
      checkpointSize: latest?.size ?? 0,
      ...(lastError || broken ? { lastError: (broken ?? lastError)!.message } : {}),
    }),
    close() {
      closing ??= (async () => {
        clearInterval(ticker);
        clearTimeout(groupTimer);
        try {
          await exclusive(async () => {
            await flushWaiting();
            if (!broken && uncovered() > 0) await writeCheckpoint().catch(report);
          });
        } finally {
          await segment.handle.close().catch(() => undefined);
          await checkpoints?.handle.close().catch(() => undefined);
          await mirror?.drain();
          await lock.release();
        }
      })();
      return closing;
    },
  };
}
