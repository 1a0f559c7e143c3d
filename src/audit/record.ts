import canonicalize from 'canonicalize';
import { z } from 'zod';
import { canonicalJson } from '../approvals/digest.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import { HASH_SIZE } from './merkle.js';
import { isObject } from '../shared/json.js';

/**
 * One line of the audit log: the RFC 8785 canonical JSON of
 *
 *     { "prev": <hex leaf hash of the line before>, "record": <the caller's object>,
 *       "seq": <0, 1, 2, ...>, "time": <UTC ISO time of the append> }
 *
 * `seq` starts at 0 and is the record's leaf index in the Merkle tree; the leaf hash is RFC 6962's
 * over the line's UTF-8 bytes without the newline. `prev` links each line to the one before (64 zeros
 * for seq 0), which the Merkle tree alone does not: it lets `verify` name the very record that was
 * edited, where a checkpoint's root can only say that something under it changed.
 */

export const GENESIS_PREV = '0'.repeat(HASH_SIZE * 2);

const HEX_HASH = /^[0-9a-f]{64}$/;
const HexHash = z.string().regex(HEX_HASH, 'a hash is 64 lowercase hex characters');

/** A UTC time exactly as `Date.prototype.toISOString` writes it (one spelling per instant). */
export function isIsoTime(text: string): boolean {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(text)) return false;
  const ms = Date.parse(text);
  return !Number.isNaN(ms) && new Date(ms).toISOString() === text;
}

export const AuditLineSchema = z.strictObject({
  prev: HexHash,
  record: z.record(z.string(), z.unknown()),
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  time: z.string().refine(isIsoTime, 'a UTC time such as 2026-01-31T12:00:00.000Z'),
});
export type AuditLine = z.infer<typeof AuditLineSchema>;

/** A record is any JSON object; what it says is the caller's business. */
export type AuditRecord = Record<string, unknown>;

/**
 * The canonical JSON of a record, checked for what the log can hold. Throws AUDIT_RECORD_INVALID.
 */
export function canonicalRecord(record: unknown, maxBytes: number): string {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new GatehouseError('AUDIT_RECORD_INVALID', 'an audit record is a JSON object');
  }
  let text: string;
  try {
    text = canonicalJson(record);
  } catch (error) {
    if (!isGatehouseError(error, 'DIGEST_INPUT_INVALID')) throw error;
    throw new GatehouseError(
      'AUDIT_RECORD_INVALID',
      `the audit record is not JSON: ${error.message}`,
      {},
      { cause: error },
    );
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new GatehouseError(
      'AUDIT_RECORD_INVALID',
      `the audit record has ${bytes} bytes of JSON, more than the limit of ${maxBytes}`,
      { bytes, maxBytes },
    );
  }
  return text;
}

/**
 * The line for a canonical record, without its newline; `prev` as bytes or lowercase hex. Written out by hand: the four keys are in
 * JCS order and their values canonical already, so this is `canonicalize` of the whole without a
 * second pass over the record (a test holds the two equal).
 */
export function formatLine(prev: Uint8Array | string, record: string, seq: number, time: string): string {
  const link = typeof prev === 'string' ? prev : Buffer.from(prev).toString('hex');
  return `{"prev":"${link}","record":${record},"seq":${seq},"time":${JSON.stringify(time)}}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Why a line is not a valid audit line; `seq` when the line still says which record it claims to be. */
export interface LineProblem {
  detail: string;
  seq?: number;
}

/**
 * Reads one line (bytes, no newline). `canonical` also demands the exact RFC 8785 form, which costs a
 * second serialisation: `verify` asks for it, start-up does not (the hash covers the bytes either way).
 */
export function parseLine(bytes: Uint8Array, canonical: boolean): AuditLine | LineProblem {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { detail: 'the line is not valid UTF-8' };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { detail: 'the line is not JSON' };
  }
  let line: AuditLine;
  if (isAuditLine(json)) {
    line = json;
  } else {
    const parsed = AuditLineSchema.safeParse(json);
    if (!parsed.success) {
      const claimed = (json as { seq?: unknown } | null)?.seq;
      const seq = typeof claimed === 'number' && Number.isSafeInteger(claimed) ? claimed : undefined;
      const issue = parsed.error.issues[0]!;
      return { detail: `${issue.path.map(String).join('.') || 'the line'}: ${issue.message}`, seq };
    }
    line = parsed.data;
  }
  if (canonical && canonicalize(json) !== text) {
    return { detail: 'the line is not in RFC 8785 canonical form', seq: line.seq };
  }
  return line;
}

/**
 * AuditLineSchema's test by hand, for start-up's pass over every line (zod takes longer than the
 * JSON.parse); zod still checks whatever this refuses, to say why.
 */
function isAuditLine(json: unknown): json is AuditLine {
  if (!isObject(json) || Object.keys(json).length !== 4) return false;
  const { prev, record, seq, time } = json;
  return (
    typeof prev === 'string' &&
    HEX_HASH.test(prev) &&
    isObject(record) &&
    typeof seq === 'number' &&
    Number.isSafeInteger(seq) &&
    seq >= 0 &&
    typeof time === 'string' &&
    isIsoTime(time)
  );
}

export const isLineProblem = (value: AuditLine | LineProblem): value is LineProblem => 'detail' in value;
