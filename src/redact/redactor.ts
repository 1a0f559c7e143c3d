import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../approvals/digest.js';
import { GatehouseError } from '../errors.js';
import { applySpans, findSecrets, isAwsSecretKey, MARKER, marker } from './detectors.js';
import { anyKnownCredential, scrubCredentials } from './known.js';
import { secretNameMatcher } from './names.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_SCAN_CHARS } from './options.js';
import { parseJsonPath, stepInto, type PathStates, type PathStep } from './paths.js';

/**
 * One redactor, built once from `audit.redact`, for everything that shows a call to someone other than
 * its approvers: the audit trail, logs, list views, cards, webhook bodies, receipts. A value is
 * redacted when its field name is a secret name (built-in or configured, any depth), when a configured
 * JSON path names it, or, inside strings, where a built-in detector finds a secret's shape. Keys and
 * structure stay; a redacted value is replaced whole by `[REDACTED]` (names, paths: whatever its type),
 * a detected secret inside a string by `[REDACTED:<kind>]`. A marker never holds any part of the secret.
 */

export interface RedactionRules {
  /** Field names redacted at any depth, compared ignoring case, besides the built-in ones. */
  names: readonly string[];
  /** JSON paths into the arguments (paths.ts has the forms). */
  paths: readonly string[];
  /** Look for secret shapes inside strings. */
  detect: boolean;
  /** A longer string is replaced whole by `[REDACTED:too-long]` instead of scanned. */
  maxScanChars?: number;
  /** Values nested deeper are replaced by `[REDACTED:too-deep]`. */
  maxDepth?: number;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Arguments as they may be shown, and the JSON paths (`$.password`, `$.items[2].token`) replaced. */
export interface RedactedValues {
  value: Record<string, JsonValue>;
  redacted: string[];
}

/** What the audit trail records (`RedactedArgumentsSchema`): plus a keyed digest of the full arguments. */
export interface RedactedArguments extends RedactedValues {
  /** `hmac-sha256:<hex>` over the RFC 8785 canonical JSON of the arguments before redaction. */
  digest: string;
}

export interface Redactor {
  /** Names, paths and detection over a call's arguments. */
  redactArguments(args: Record<string, unknown> | undefined): RedactedValues;
  /** Names and detection over any value: JSON, or what a log line holds (toJSON honoured, cycles cut). */
  redactValue(value: unknown): unknown;
  /** Detection in free text: log messages, error messages, result text. */
  redactText(text: string): string;
}

export interface KeyedRedactor extends Redactor {
  /** Throws DIGEST_INPUT_INVALID for arguments RFC 8785 cannot represent (lone surrogates). */
  redactArguments(args: Record<string, unknown> | undefined): RedactedArguments;
}

/**
 * Throws CONFIG_INVALID naming `audit.redact.paths[i]` for a path outside the supported forms, and
 * AUDIT_KEY_INVALID for a digest key under 16 bytes. Without `digestKey`, the result has no digest: for
 * logs and list views, which show arguments but do not prove them.
 */
export function createRedactor(options: RedactionRules & { digestKey: Uint8Array }): KeyedRedactor;
export function createRedactor(options: RedactionRules): Redactor;
export function createRedactor(options: RedactionRules & { digestKey?: Uint8Array }): Redactor {
  const rules = compileRules(options);
  const redactor: Redactor = {
    redactArguments: (args) => {
      const walk = newWalk(rules, []);
      const value = walkObject(args ?? {}, 0, rules.paths.length > 0 ? rules.start : undefined, walk);
      return { value: value as Record<string, JsonValue>, redacted: walk.redacted! };
    },
    redactValue: (value) => walkValue(value, 0, undefined, newWalk(rules, undefined)),
    redactText: (text) => redactString(text, newWalk(rules, undefined)),
  };
  const key = options.digestKey;
  if (key === undefined) return redactor;
  if (key.length < 16)
    throw new GatehouseError(
      'AUDIT_KEY_INVALID',
      `the argument digest key has ${key.length} bytes; at least 16`,
    );
  // Imported once: a raw key given to createHmac is imported again on every call.
  const digestKey = createSecretKey(Buffer.from(key));
  return {
    ...redactor,
    redactArguments: (args) => {
      // The digest first: arguments that cannot be digested fail before anything is shown.
      const digest = argumentsDigest(digestKey, args);
      return { ...redactor.redactArguments(args), digest };
    },
  };
}

/** `hmac-sha256:<hex>` of the arguments' canonical JSON; absent arguments digest like `{}`. */
export function argumentsDigest(
  key: Uint8Array | KeyObject,
  args: Record<string, unknown> | undefined,
): string {
  return `hmac-sha256:${createHmac('sha256', key)
    .update(canonicalJson(args ?? {}), 'utf8')
    .digest('hex')}`;
}

/** What is wrong with each bad path, naming it as the config does: `audit.redact.paths[i]`. */
function describePathProblems(paths: readonly string[]): string[] {
  const problems: string[] = [];
  paths.forEach((path, i) => {
    const parsed = parseJsonPath(path);
    if (!parsed.ok) problems.push(`audit.redact.paths[${i}]: ${JSON.stringify(path)}: ${parsed.problem}`);
  });
  return problems;
}

interface Rules {
  isSecretName: (name: string) => boolean;
  detect: boolean;
  maxScanChars: number;
  maxDepth: number;
  paths: readonly (readonly PathStep[])[];
  /** Every path at its first step. */
  start: PathStates;
}

function compileRules(options: RedactionRules): Rules {
  const problems = describePathProblems(options.paths);
  if (problems.length > 0) throw new GatehouseError('CONFIG_INVALID', problems.join('\n'), { problems });
  const paths = options.paths.map((p) => (parseJsonPath(p) as { ok: true; steps: PathStep[] }).steps);
  const positive = (n: number | undefined, fallback: number, what: string) => {
    if (n === undefined) return fallback;
    if (!Number.isInteger(n) || n <= 0)
      throw new GatehouseError('CONFIG_INVALID', `audit.redact.${what}: ${n} is not a positive integer`);
    return n;
  };
  return {
    isSecretName: secretNameMatcher(options.names),
    detect: options.detect,
    maxScanChars: positive(options.maxScanChars, DEFAULT_MAX_SCAN_CHARS, 'maxScanChars'),
    maxDepth: positive(options.maxDepth, DEFAULT_MAX_DEPTH, 'maxDepth'),
    paths,
    start: paths.map((_, i) => [i, 0] as const),
  };
}

/** One walk's state; plain functions over it, no closures: this runs on every call. */
interface Walk {
  rules: Rules;
  /** Paths of the replaced values; undefined when nobody asks (redactValue, redactText). */
  redacted: string[] | undefined;
  /** Where the walk is: keys and indices from the root. */
  at: (string | number)[];
  /** Objects being walked, to cut cycles in logged values. */
  ancestors: object[];
  /** Set when a string held an AWS access key id: its siblings may hold the secret key. */
  sawAwsKeyId: boolean;
}

function newWalk(rules: Rules, redacted: string[] | undefined): Walk {
  return { rules, redacted, at: [], ancestors: [], sawAwsKeyId: false };
}

function record(walk: Walk): void {
  walk.redacted?.push(formatPath(walk.at));
}

function walkValue(value: unknown, depth: number, states: PathStates | undefined, walk: Walk): unknown {
  if (typeof value === 'string') return redactString(value, walk);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= walk.rules.maxDepth) {
    record(walk);
    return marker('too-deep');
  }
  if (walk.ancestors.includes(value)) return '[Circular]';
  if (Array.isArray(value)) return walkArray(value, depth, states, walk);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype || proto === null)
    return walkObject(value as Record<string, unknown>, depth, states, walk);
  // Anything else is shown as JSON.stringify would show it: its toJSON(), else its own enumerable fields.
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return walkValue(toJSON.call(value, ''), depth, states, walk);
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(value)) setMember(fields, key, (value as Record<string, unknown>)[key]);
  return walkObject(fields, depth, states, walk);
}

function walkArray(
  list: readonly unknown[],
  depth: number,
  states: PathStates | undefined,
  walk: Walk,
): unknown {
  let out: unknown[] | undefined;
  walk.ancestors.push(list);
  for (let i = 0; i < list.length; i++) {
    const item = walkMember(i, list[i], depth, states, walk);
    if (item !== list[i]) (out ??= list.slice())[i] = item;
  }
  walk.ancestors.pop();
  return out ?? list;
}

/** Copied on the first change only: arguments without secrets come back as they are. */
function walkObject(
  object: Record<string, unknown>,
  depth: number,
  states: PathStates | undefined,
  walk: Walk,
): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(object);
  const sawBefore = walk.sawAwsKeyId;
  walk.sawAwsKeyId = false;
  walk.ancestors.push(object);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const member = walkMember(key, object[key], depth, states, walk);
    if (member !== object[key]) {
      out ??= copyOf(object, keys);
      setMember(out, key, member);
    }
  }
  walk.ancestors.pop();
  if (walk.sawAwsKeyId) out = redactAwsSecretSiblings(object, keys, out, walk);
  walk.sawAwsKeyId = sawBefore;
  return out ?? object;
}

/** `{ id: 'AKIA…', secret: 'wJalr…' }` under any names: the 40-character secret key beside the id. */
function redactAwsSecretSiblings(
  object: Record<string, unknown>,
  keys: readonly string[],
  out: Record<string, unknown> | undefined,
  walk: Walk,
): Record<string, unknown> | undefined {
  for (const key of keys) {
    const value = (out ?? object)[key];
    if (typeof value !== 'string' || !isAwsSecretKey(value)) continue;
    out ??= copyOf(object, keys);
    setMember(out, key, marker('aws-secret-key'));
    walk.at.push(key);
    record(walk);
    walk.at.pop();
  }
  return out;
}

function walkMember(
  key: string | number,
  value: unknown,
  depth: number,
  states: PathStates | undefined,
  walk: Walk,
): unknown {
  walk.at.push(key);
  let result: unknown;
  if (typeof key === 'string' && walk.rules.isSecretName(key)) {
    record(walk);
    result = MARKER;
  } else if (states === undefined) {
    result = walkValue(value, depth + 1, undefined, walk);
  } else {
    const next = stepInto(walk.rules.paths, states, key);
    if (next.matched) {
      record(walk);
      result = MARKER;
    } else {
      result = walkValue(value, depth + 1, next.states.length > 0 ? next.states : undefined, walk);
    }
  }
  walk.at.pop();
  return result;
}

function redactString(input: string, walk: Walk): string {
  const rules = walk.rules;
  let text = input;
  // Credentials Gatehouse handed out are known by value, whatever the detection settings.
  if (anyKnownCredential()) {
    const scrubbed = scrubCredentials(text);
    if (scrubbed.hits > 0) {
      record(walk);
      text = scrubbed.text;
    }
  }
  if (!rules.detect) return text;
  if (text.length > rules.maxScanChars) {
    record(walk);
    return marker('too-long');
  }
  const spans = findSecrets(text, rules.isSecretName);
  if (spans.length === 0) return text;
  if (spans.some((s) => s.kind === 'aws-access-key')) walk.sawAwsKeyId = true;
  record(walk);
  return applySpans(text, spans);
}

function copyOf(object: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) setMember(out, key, object[key]);
  return out;
}

/** `out[key] = value`, also for a key named `__proto__` (JSON.parse makes it an own key; `=` would not). */
function setMember(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

/** `$.headers.Authorization`, `$.items[2].token`, `$['x-api-key']`: a path parseJsonPath reads back. */
export function formatPath(at: readonly (string | number)[]): string {
  let out = '$';
  for (const key of at) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += `.${key}`;
    else out += `['${quoteName(key)}']`;
  }
  return out;
}

/** A name inside `['…']`: backslash, quote and control characters escaped. */
function quoteName(name: string): string {
  let out = '';
  for (const c of name) {
    const code = c.charCodeAt(0);
    if (c === '\\' || c === "'") out += `\\${c}`;
    else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out;
}
