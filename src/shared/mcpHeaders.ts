/*
 * The value rules of the headers Streamable HTTP mirrors from a 2026-07-28 request's body
 * (basic/transports/streamable-http.mdx, "Request Metadata" and "Schema Extension"): `Mcp-Name`, and
 * the `Mcp-Param-{Name}` headers a tool's inputSchema asks for with `x-mcp-header`. One
 * implementation for both directions: Gatehouse's front checks what its clients send
 * (front/era2026/headers.ts), and its downstream side sends the same to a modern server
 * (downstream/era2026.ts), so a header Gatehouse would refuse is never one it sends.
 */

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;
/** Visible ASCII, space and tab (RFC 9110 field values). */
const PLAIN = /^[\x20-\x7e\t]*$/;
/** A value that survives a header as it is: visible ASCII, spaces inside only, not sentinel-shaped. */
const SAFE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * A header value as the spec encodes it: plain when it is visible ASCII without leading or trailing
 * space, the Base64 sentinel otherwise (non-ASCII, control characters, empty, or a value that would
 * read as a sentinel itself).
 */
export function encodeHeaderValue(value: string): string {
  const plain = SAFE.test(value) && !/^=\?base64\?.*\?=$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** A header value as sent: plain, or the Base64 sentinel form; undefined when it is neither. */
export function decodeHeaderValue(value: string): string | undefined {
  const encoded = SENTINEL.exec(value);
  if (encoded) return Buffer.from(encoded[1]!, 'base64').toString('utf8');
  return PLAIN.test(value) ? value : undefined;
}

/** One parameter a tool's inputSchema mirrors into `Mcp-Param-{name}`, at a property path. */
export interface MirroredParam {
  header: string;
  path: string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `x-mcp-header` annotations of a tool's inputSchema, following nested `properties`. */
export function mirroredParams(inputSchema: unknown, path: string[] = []): MirroredParam[] {
  const properties = isObject(inputSchema) ? inputSchema.properties : undefined;
  if (!isObject(properties)) return [];
  return Object.entries(properties).flatMap(([key, schema]) => {
    if (!isObject(schema)) return [];
    const here = [...path, key];
    const header = schema['x-mcp-header'];
    return [...(typeof header === 'string' ? [{ header, path: here }] : []), ...mirroredParams(schema, here)];
  });
}

/** The argument at a property path, or undefined where the path leads nowhere. */
export function valueAt(args: unknown, path: string[]): unknown {
  let value = args;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  return value;
}

/**
 * An argument as header text (the spec's type conversion): strings as they are, numbers in decimal,
 * booleans as `true`/`false`. Anything else (objects, non-finite numbers, integers beyond 2^53) has
 * no header form: undefined.
 */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) return undefined;
  return String(value);
}

/** An RFC 9110 token: what a header name may be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The `Mcp-Param-{Name}` headers (lower-cased names) one tools/call carries: one per mirrored
 * parameter whose argument is set; a null or absent argument has none, as the spec says. A name that
 * is no header name makes the tool definition invalid (the v2 SDK server then checks none of its
 * headers): there is nothing to send for it.
 */
export function paramHeaders(params: MirroredParam[], args: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const param of params) {
    if (!TOKEN.test(param.header)) continue;
    const text = headerText(valueAt(args, param.path));
    if (text !== undefined) headers[`mcp-param-${param.header.toLowerCase()}`] = encodeHeaderValue(text);
  }
  return headers;
}
