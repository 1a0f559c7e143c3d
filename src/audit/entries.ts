import { open, stat } from 'node:fs/promises';
import { GatehouseError } from '../errors.js';
import { AuditEventSchema, type AuditEvent } from './events.js';
import { listSegments, readAuditRecords, type Segment } from './files.js';
import { isLineProblem, parseLine, type AuditLine } from './record.js';

/**
 * The trail as its readers see it (`audit show`, `tail`, `export`, the report): each record with its
 * seq and time, read as an event of the vocabulary. Reading checks nothing beyond the line format;
 * `audit verify` is what proves the records are the ones written.
 */

export interface TrailEntry {
  seq: number;
  /** When the log appended it (UTC). */
  time: string;
  /** The record as written. */
  record: Record<string, unknown>;
  /** The record read as an event of this version's vocabulary. */
  event?: AuditEvent;
  /** Why it is not one (a newer writer's event, a record written by hand): readers show it, never drop it. */
  unknown?: string;
}

export function toEntry(line: AuditLine): TrailEntry {
  const parsed = AuditEventSchema.safeParse(line.record);
  const base = { seq: line.seq, time: line.time, record: line.record };
  if (parsed.success) return { ...base, event: parsed.data };
  const issue = parsed.error.issues[0]!;
  const name = typeof line.record.event === 'string' ? line.record.event : '(no event name)';
  return { ...base, unknown: `${name}: ${issue.path.map(String).join('.') || 'record'}: ${issue.message}` };
}

/** A log directory that is not there is an error: reading nothing from it would look like an empty log. */
export async function requireLogDirectory(dir: string): Promise<void> {
  let directory = false;
  let reason = 'not a directory';
  try {
    directory = (await stat(dir)).isDirectory();
  } catch (error) {
    reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  }
  if (!directory) {
    throw new GatehouseError('AUDIT_LOG_UNAVAILABLE', `${dir}: no audit log directory here (${reason})`, {
      dir,
    });
  }
}

export async function* readTrail(dir: string): AsyncGenerator<TrailEntry> {
  await requireLogDirectory(dir);
  for await (const line of readAuditRecords(dir)) yield toEntry(line);
}

export interface FollowOptions {
  /** The first seq to yield; by default the next record written. */
  from?: number;
  /** How often to look for new records. */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * Yields records as the running Gatehouse appends them, across segment rotations, until `signal`
 * aborts. It reads without the writer's lock and only whole lines, so a line being written is read once
 * it is complete. Polling rather than fs.watch: watch events are unreliable across rotation and on
 * network file systems, and a second's delay costs a person following the trail nothing.
 */
export async function* followTrail(dir: string, options: FollowOptions = {}): AsyncGenerator<TrailEntry> {
  await requireLogDirectory(dir);
  const pollMs = options.pollMs ?? 500;
  let next = options.from;
  let current: { segment: Segment; offset: number; line: number } | undefined;
  while (!options.signal?.aborted) {
    const segments = await listSegments(dir);
    if (next === undefined) next = await countRecords(segments);
    // The segment holding `next`: the last one whose first record is not after it.
    const holding = segments.filter((s) => s.firstSeq <= next!).at(-1);
    if (holding && holding.path !== current?.segment.path) current = { segment: holding, offset: 0, line: 0 };
    let progressed = false;
    if (current) {
      for (const { bytes, line } of await newLines(current)) {
        const parsed = parseLine(bytes, false);
        if (isLineProblem(parsed)) {
          throw new GatehouseError(
            'AUDIT_LOG_CORRUPT',
            `${current.segment.path}:${line}: ${parsed.detail}; run \`gatehouse audit verify\``,
            { file: current.segment.path, line },
          );
        }
        if (parsed.seq < next) continue;
        next = parsed.seq + 1;
        progressed = true;
        yield toEntry(parsed);
      }
    }
    // A newer segment starts where this one ended: go on there at once.
    if (segments.some((s) => s.firstSeq === next && s.path !== current?.segment.path)) continue;
    if (!progressed) await sleep(pollMs, options.signal);
  }
}

/** Whole lines appended to the segment since the last call; advances the position past them. */
async function newLines(position: {
  segment: Segment;
  offset: number;
  line: number;
}): Promise<{ bytes: Buffer; line: number }[]> {
  let handle;
  try {
    handle = await open(position.segment.path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size <= position.offset) return [];
    const buffer = Buffer.alloc(size - position.offset);
    await handle.read(buffer, 0, buffer.length, position.offset);
    const end = buffer.lastIndexOf(0x0a);
    if (end < 0) return [];
    const lines: { bytes: Buffer; line: number }[] = [];
    let start = 0;
    for (let nl = buffer.indexOf(0x0a); nl >= 0 && nl <= end; nl = buffer.indexOf(0x0a, start)) {
      lines.push({ bytes: buffer.subarray(start, nl), line: ++position.line });
      start = nl + 1;
    }
    position.offset += end + 1;
    return lines;
  } finally {
    await handle.close();
  }
}

async function countRecords(segments: readonly Segment[]): Promise<number> {
  const last = segments.at(-1);
  if (!last) return 0;
  const position = { segment: last, offset: 0, line: 0 };
  return last.firstSeq + (await newLines(position)).length;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
