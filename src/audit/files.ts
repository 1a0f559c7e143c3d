import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalJson } from '../approvals/digest.js';
import { GatehouseError } from '../errors.js';
import { isLineProblem, parseLine, type AuditLine } from './record.js';

/**
 * The files of an audit log directory:
 *
 *     segment-0000000000000000.jsonl   records 0.. (named after the seq of their first record)
 *     segment-0000000000052310.jsonl   the current segment, appended to
 *     checkpoints.jsonl                one {"note": "<signed checkpoint>"} per line, in order
 *     audit.lock                       held by the one process that writes
 *
 * Segments and the checkpoint file are only ever appended to; the one exception is start-up, which
 * cuts a torn last line (a crash in the middle of a write) off the end.
 */

export const CHECKPOINTS_FILE = 'checkpoints.jsonl';
const SEGMENT = /^segment-(\d{16})\.jsonl$/;

export const segmentName = (firstSeq: number): string =>
  `segment-${String(firstSeq).padStart(16, '0')}.jsonl`;

export interface Segment {
  name: string;
  path: string;
  /** The seq its name promises for its first record. */
  firstSeq: number;
}

/** One line of a segment, without its newline. */
export interface LogLine {
  segment: Segment;
  /** 1-based, within the segment. */
  line: number;
  /** Byte offset of the line in the segment. */
  offset: number;
  bytes: Buffer;
  /** The line does not end in a newline, but another segment follows: not a crash, an alteration. */
  unterminated: boolean;
}

/** Bytes after the last newline of a file's end: what a crash in the middle of a write leaves. */
export interface TornTail {
  file: string;
  /** Where the torn bytes start, which is where the file is cut to repair it. */
  offset: number;
  length: number;
}

function unavailable(path: string, error: unknown): GatehouseError {
  const code = (error as NodeJS.ErrnoException).code;
  return new GatehouseError(
    'AUDIT_LOG_UNAVAILABLE',
    `${path}: the audit log cannot be read (${code ?? (error as Error).message})`,
    { file: path, errno: code },
    { cause: error },
  );
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unavailable(path, error);
  }
}

/** The segments in seq order; an absent directory has none. */
export async function listSegments(dir: string): Promise<Segment[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw unavailable(dir, error);
  }
  return names
    .flatMap((name) => {
      const match = SEGMENT.exec(name);
      return match ? [{ name, path: join(dir, name), firstSeq: Number(match[1]) }] : [];
    })
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

/** Splits file bytes into newline-terminated lines and what follows the last newline. */
function splitLines(bytes: Buffer): { lines: { offset: number; bytes: Buffer }[]; rest: number } {
  const lines: { offset: number; bytes: Buffer }[] = [];
  let start = 0;
  for (let end = bytes.indexOf(0x0a); end >= 0; end = bytes.indexOf(0x0a, start)) {
    lines.push({ offset: start, bytes: bytes.subarray(start, end) });
    start = end + 1;
  }
  return { lines, rest: start };
}

export type LogItem =
  | { kind: 'segment'; segment: Segment; empty: boolean }
  | ({ kind: 'line' } & LogLine)
  | ({ kind: 'torn' } & TornTail);

/**
 * Every segment, then its lines, in order. The bytes after the last newline of the last segment come
 * last as `torn`; in any other segment they are an `unterminated` line.
 */
export async function* readLogLines(segments: readonly Segment[]): AsyncGenerator<LogItem> {
  for (const [i, segment] of segments.entries()) {
    const bytes = (await readOptional(segment.path)) ?? Buffer.alloc(0);
    yield { kind: 'segment', segment, empty: bytes.length === 0 };
    const { lines, rest } = splitLines(bytes);
    let number = 0;
    for (const line of lines) yield { kind: 'line', segment, line: ++number, ...line, unterminated: false };
    if (rest === bytes.length) continue;
    if (i === segments.length - 1) {
      yield { kind: 'torn', file: segment.path, offset: rest, length: bytes.length - rest };
    } else {
      yield {
        kind: 'line',
        segment,
        line: ++number,
        offset: rest,
        bytes: bytes.subarray(rest),
        unterminated: true,
      };
    }
  }
}

/** Every record of a log directory, for readers such as `audit show`; stops at the first bad line. */
export async function* readAuditRecords(dir: string): AsyncGenerator<AuditLine> {
  for await (const item of readLogLines(await listSegments(dir))) {
    if (item.kind === 'segment') continue;
    if (item.kind === 'torn') return;
    const parsed = parseLine(item.bytes, false);
    if (isLineProblem(parsed)) {
      throw new GatehouseError(
        'AUDIT_LOG_CORRUPT',
        `${item.segment.path}:${item.line}: ${parsed.detail}; run \`gatehouse audit verify\``,
        { file: item.segment.path, line: item.line },
      );
    }
    yield parsed;
  }
}

const CheckpointLineSchema = z.strictObject({ note: z.string() });

/** The line a signed checkpoint note takes in a checkpoint file. */
export const checkpointLine = (note: string): string => `${canonicalJson({ note })}\n`;

/** A checkpoint file's entry: its note, or why the line holds none. */
export interface CheckpointEntry {
  /** `<file>:<line>`, for messages. */
  source: string;
  note?: string;
  problem?: string;
}

/**
 * The checkpoints of a file (our own or a mirror's copy). An absent file has none, unless it is
 * `required` (a copy the caller named: its absence is no evidence of anything).
 */
export async function readCheckpointFile(
  path: string,
  required = false,
): Promise<{ entries: CheckpointEntry[]; torn?: TornTail }> {
  const bytes = await readOptional(path);
  if (bytes === undefined && required)
    throw unavailable(path, Object.assign(new Error(), { code: 'ENOENT' }));
  if (bytes === undefined) return { entries: [] };
  const { lines, rest } = splitLines(bytes);
  const entries = lines.map(({ bytes: line }, i): CheckpointEntry => {
    const source = `${path}:${i + 1}`;
    try {
      const parsed = CheckpointLineSchema.safeParse(JSON.parse(line.toString('utf8')));
      return parsed.success
        ? { source, note: parsed.data.note }
        : { source, problem: 'not a {"note": ...} line' };
    } catch {
      return { source, problem: 'not JSON' };
    }
  });
  const torn = rest < bytes.length ? { file: path, offset: rest, length: bytes.length - rest } : undefined;
  return { entries, torn };
}
