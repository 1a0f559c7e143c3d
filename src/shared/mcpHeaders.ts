/*
 * The value rules of the headers Streamable HTTP mirrors from a 2026-07-28 request's body
 * (basic/transports/streamable-http.mdx, "Request Metadata" and "Custom Headers from Tool
 * Parameters"): `Mcp-Name`, and the `Mcp-Param-{Name}` headers a tool's inputSchema asks for with
 * `x-mcp-header`. One implementation for both directions: Gatehouse's front checks what its clients
 * send (front/era2026/headers.ts), and its downstream side sends the same to a modern server
 * (downstream/era2026.ts), so a header Gatehouse would refuse is never one it sends. The rules are
 * the v2 SDK's (2.4.0, core-internal shared/mcpParamHeaders.ts) wherever it decides, so a client or
 * server built on it and Gatehouse never disagree about a call.
 */

import { isObject } from './json.js';

const PREFIX = '=?base64?';
const SUFFIX = '?=';
/** RFC 4648 with the padding required: the spec's examples and the conformance suite refuse others. */
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Visible ASCII, space and tab (RFC 9110 field values). */
const PLAIN = /^[\x20-\x7e\t]*$/;
/** The decimal forms a header may give an integer in; `Number()` alone would take `0x2a` or `4.2e1`. */
const CANONICAL_DECIMAL = /^-?\d+(\.\d+)?$/;
/** An RFC 9110 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const sentinelShaped = (value: string) => value.startsWith(PREFIX) && value.endsWith(SUFFIX);

/** The methods whose `Mcp-Name` header mirrors a field of their params, and that field. */
export const MCP_NAME_FIELDS: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

/**
 * A header value as the spec encodes it: plain when it is visible ASCII (tabs and spaces inside
 * allowed) without leading or trailing whitespace, the Base64 sentinel otherwise (non-ASCII, control
 * characters, empty, or a value that would read as a sentinel itself).
 */
export function encodeHeaderValue(value: string): string {
  const plain = value !== '' && value === value.trim() && PLAIN.test(value) && !sentinelShaped(value);
  return plain ? value : `${PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${SUFFIX}`;
}

/**
 * A header value as sent: plain, or the Base64 sentinel form decoded; undefined when a plain value
 * holds characters a header value may not carry, or a sentinel is not canonical Base64 of UTF-8
 * (servers must refuse both).
 */
export function decodeHeaderValue(value: string): string | undefined {
  if (!sentinelShaped(value)) return PLAIN.test(value) ? value : undefined;
  const encoded = value.slice(PREFIX.length, value.length - SUFFIX.length);
  if (!CANONICAL_BASE64.test(encoded)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined;
  }
}

/** One argument a tool's inputSchema mirrors into `Mcp-Param-{header}`, at a property path. */
export interface MirroredParam {
  header: string;
  path: string[];
  /** The JSON Schema type of the annotated property. */
  type: string;
}

/**
 * What a tool's `x-mcp-header` annotations say: the arguments mirrored into headers, and why the
 * definition is invalid when it is. A tool with `invalid` set gets no headers from a conforming
 * client (a Streamable HTTP client leaves it out of its tools/list), except that `params` still lists
 * the annotations when the only fault is a `number`-typed one: the v2 SDK server checks those.
 */
export interface HeaderScan {
  params: MirroredParam[];
  invalid?: string;
  /** Of an invalid definition: every header name its annotations use, to refuse one sent anyway. */
  annotated?: string[];
}

/** The types an annotated property may have; `number` is named by the spec as not permitted. */
const PRIMITIVE = new Set(['string', 'integer', 'boolean']);
/** Keywords whose subschemas are not reached by a chain of `properties`: an annotation there is invalid. */
const UNREACHABLE = [
  'items',
  'prefixItems',
  'contains',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'patternProperties',
  'dependentSchemas',
  'oneOf',
  'anyOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  '$defs',
  'definitions',
];
/** Of those, the ones whose value maps names to subschemas. */
const NAMED_SUBSCHEMAS = new Set(['patternProperties', 'dependentSchemas', '$defs', 'definitions']);

const where = (path: string[]) => (path.length === 0 ? 'the inputSchema itself' : path.join('.'));

/** Every `x-mcp-header` name a schema's annotations use, valid or not (for an invalid definition). */
function annotatedNames(schema: unknown, names = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) schema.forEach((item) => annotatedNames(item, names));
  else if (isObject(schema)) {
    const header = schema['x-mcp-header'];
    if (typeof header === 'string' && TOKEN.test(header)) names.add(header);
    Object.entries(schema).forEach(([key, value]) => key !== 'x-mcp-header' && annotatedNames(value, names));
  }
  return names;
}

/**
 * Scan a tool's inputSchema for `x-mcp-header` annotations and check each constraint the spec puts
 * on them (non-empty RFC 9110 token, case-insensitively unique, on a string, integer or boolean
 * property reached from the root by `properties` alone), in the v2 SDK's order; the first fault is
 * the reason the definition is invalid.
 */
export function scanHeaders(inputSchema: unknown): HeaderScan {
  const params: MirroredParam[] = [];
  const seen = new Map<string, string>();
  let numberFault: string | undefined;
  const visit = (node: unknown, path: string[], reachable: boolean): string | undefined => {
    if (!isObject(node)) return undefined;
    if ('x-mcp-header' in node) {
      if (!reachable || path.length === 0)
        return `${where(path)}: x-mcp-header is only permitted on a property reached from the root through 'properties' alone (not under items, additionalProperties, oneOf/anyOf/allOf/not, if/then/else or $defs)`;
      const header = node['x-mcp-header'];
      if (typeof header !== 'string' || header === '')
        return `${where(path)}: x-mcp-header must be a non-empty string`;
      if (!TOKEN.test(header))
        return `${where(path)}: x-mcp-header '${header}' is not an RFC 9110 token (no spaces, control characters, non-ASCII or delimiters)`;
      const type = typeof node.type === 'string' ? node.type : undefined;
      if (type === undefined || !PRIMITIVE.has(type)) {
        const fault = `${where(path)}: x-mcp-header is only permitted on a string, integer or boolean property, not ${type ?? 'one without a type'}`;
        if (type !== 'number') return fault;
        numberFault ??= fault;
      }
      const prior = seen.get(header.toLowerCase());
      if (prior !== undefined)
        return `x-mcp-header '${header}' is not unique ignoring case (also declared as '${prior}')`;
      seen.set(header.toLowerCase(), header);
      params.push({ header, path, type: type! });
    }
    if (isObject(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) {
        const fault = visit(child, [...path, key], reachable);
        if (fault !== undefined) return fault;
      }
    }
    for (const keyword of UNREACHABLE) {
      const sub = node[keyword];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub)
        ? sub
        : isObject(sub) && NAMED_SUBSCHEMAS.has(keyword)
          ? Object.values(sub)
          : [sub];
      for (const branch of branches) {
        const fault = visit(branch, [...path, `<${keyword}>`], false);
        if (fault !== undefined) return fault;
      }
    }
    return undefined;
  };
  const fault = visit(inputSchema, [], true);
  if (fault !== undefined)
    return { params: [], invalid: numberFault ?? fault, annotated: [...annotatedNames(inputSchema)] };
  return numberFault === undefined ? { params } : { params, invalid: numberFault };
}

const scans = new WeakMap<object, HeaderScan>();

/** {@link scanHeaders}, once per inputSchema object (a listed tool's is checked on every call). */
export function scanHeadersOnce(inputSchema: unknown): HeaderScan {
  if (!isObject(inputSchema)) return scanHeaders(inputSchema);
  let scan = scans.get(inputSchema);
  if (!scan) scans.set(inputSchema, (scan = scanHeaders(inputSchema)));
  return scan;
}

/** The argument at a property path, or undefined where the path leads nowhere. */
export function valueAt(args: unknown, path: string[]): unknown {
  let value = args;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

/**
 * An argument as header text (the spec's type conversion): strings as they are, numbers in decimal,
 * booleans as `true`/`false`. Anything else (absent, null, objects, arrays, non-finite numbers,
 * integers beyond 2^53) has no header form: undefined, and no header is sent or expected for it.
 */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return undefined;
  return String(value);
}

const headerName = (param: MirroredParam) => `mcp-param-${param.header.toLowerCase()}`;

/**
 * The `Mcp-Param-{Name}` headers (lower-cased names) one tools/call carries: one per mirrored
 * argument that has a header form. A tool whose definition is invalid gets none (a conforming client
 * would not list it; the v2 SDK client sends none for it).
 */
export function paramHeaders(scan: HeaderScan, args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  if (scan.invalid !== undefined) return headers;
  for (const param of scan.params) {
    const text = headerText(valueAt(args, param.path));
    if (text !== undefined) headers[headerName(param)] = encodeHeaderValue(text);
  }
  return headers;
}

/** Whether a header's decoded text says the argument: integers compare as numbers, written in decimal. */
function sameValue(param: MirroredParam, decoded: string, value: unknown, text: string): boolean {
  const numeric = (param.type === 'integer' || param.type === 'number') && typeof value === 'number';
  return numeric && CANONICAL_DECIMAL.test(decoded) ? Number(decoded) === value : decoded === text;
}

/**
 * Why a tools/call's `Mcp-Param-*` headers do not say what its arguments say, or undefined when they
 * do. Where the v2 SDK server requires a header (an argument with a header form, of a tool whose
 * annotations are valid or faulty only by a `number` type), absence or a different value is
 * refused, as it is. Where no conforming client sends one (the argument is absent, null or has no
 * header form; the tool's definition is invalid, so no argument is mirrored), a header that is sent
 * anyway is refused too, where the SDK ignores it: a gateway could route on it while the body says
 * something else, and refusing it refuses no conforming client.
 *
 * @param sent the value of a (lower-cased) header as received, undefined when absent
 */
export function paramMismatch(
  scan: HeaderScan,
  args: unknown,
  sent: (name: string) => string | undefined,
): string | undefined {
  if (scan.params.length === 0) {
    const header = scan.annotated?.find((name) => sent(`mcp-param-${name.toLowerCase()}`) !== undefined);
    if (header === undefined) return undefined;
    return `the Mcp-Param-${header} header is sent, but the tool's x-mcp-header declarations are invalid (${scan.invalid}), so no argument is mirrored into it`;
  }
  for (const param of scan.params) {
    const value = valueAt(args, param.path);
    const text = headerText(value);
    const header = sent(headerName(param));
    const argument = `arguments.${param.path.join('.')}`;
    if (text === undefined) {
      if (header === undefined) continue;
      return `the Mcp-Param-${param.header} header is sent, but ${argument} has no value a header mirrors (${value === undefined ? 'absent' : JSON.stringify(value)})`;
    }
    if (header === undefined) return `the Mcp-Param-${param.header} header is required: ${argument} is set`;
    const decoded = decodeHeaderValue(header);
    if (decoded === undefined)
      return `the Mcp-Param-${param.header} header holds characters a header value may not carry, or a sentinel that is not canonical Base64 of UTF-8`;
    if (!sameValue(param, decoded, value, text))
      return `Mcp-Param-${param.header} header value '${decoded}' does not match ${argument}`;
  }
  return undefined;
}
