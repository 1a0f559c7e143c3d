import { hash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { GatehouseError } from '../errors.js';

/**
 * The binding of an approval to one exact invocation. An approver approves a digest, not a request id:
 * the executor recomputes it from the stored fields, so nothing but the call that was shown can run.
 * Digests are lowercase hex SHA-256 over the UTF-8 bytes of RFC 8785 (JCS) canonical JSON.
 */

export const DigestSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a digest is 64 lowercase hex characters');

/** Everything that makes two calls "the same call" for approval purposes; nothing else counts. */
export interface Invocation {
  /** Downstream server name, as in the config. */
  server: string;
  /** The tool's own name on its server (not the exposed, prefixed name). */
  tool: string;
  /** `toolDefinitionDigest` of the definition the caller saw: a changed tool is a different call. */
  toolDefinitionDigest: string;
  /** Absent arguments digest like `{}`: MCP servers cannot tell the two apart. */
  arguments: Record<string, unknown> | undefined;
  callerId: string;
  /** A policy reload makes new requests: an approval was granted under the rules of its time. */
  policyVersion: string;
}

/**
 * RFC 8785 canonical JSON. Throws DIGEST_INPUT_INVALID for what JCS cannot represent (NaN, Infinity,
 * lone surrogates, which `JSON.parse` happily produces from `"\ud800"`, BigInt, cycles).
 *
 * Every audit record and digest goes through here, several times per tool call, so this is the
 * `canonicalize` package's algorithm (sorted keys, ECMAScript number and string forms) with the
 * checks done natively (`isWellFormed`) and without a Set per level; a property test holds its output
 * to the package's, byte for byte. Strings that need no escape (most keys and values) are quoted
 * as they are, and keys already in order are not sorted: `JSON.stringify` is a call into C++ for each
 * string, which made up most of a record's cost.
 */
export function canonicalJson(value: unknown): string {
  try {
    const text = canonical(value, 0);
    if (text !== undefined) return text;
  } catch (error) {
    throw new GatehouseError(
      'DIGEST_INPUT_INVALID',
      `cannot canonicalise the value as RFC 8785 JSON: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  throw new GatehouseError(
    'DIGEST_INPUT_INVALID',
    'cannot canonicalise the value as RFC 8785 JSON: not a JSON value',
  );
}

/** Deeper than this is a cycle (or nothing a JSON text would hold). */
const MAX_DEPTH = 2_000;

function canonical(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      if (Number.isNaN(value)) throw new Error('NaN is not allowed');
      if (!Number.isFinite(value)) throw new Error('Infinity is not allowed');
      // A finite number's JSON form is its ECMAScript string form (-0 included: "0").
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth > MAX_DEPTH) throw new Error('Circular reference detected');
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return canonical((value as { toJSON(): unknown }).toJSON(), depth + 1);
      }
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (i > 0) out += ',';
          out += item === undefined || typeof item === 'symbol' ? 'null' : canonical(item, depth + 1);
        }
        return `${out}]`;
      }
      let out = '{';
      let first = true;
      const keys = Object.keys(value);
      // Sorted by UTF-16 code units, as `sort()` compares; records mostly arrive in that order.
      for (let i = 1; i < keys.length; i++) {
        if (keys[i - 1]! > keys[i]!) {
          keys.sort();
          break;
        }
      }
      for (const key of keys) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'symbol' || typeof item === 'function') continue;
        out += `${first ? '' : ','}${quoted(key)}:${canonical(item, depth + 1)}`;
        first = false;
      }
      return `${out}}`;
    }
    case 'bigint':
      throw new Error("BigInt value can't be serialized in JSON");
    default:
      // undefined, functions and symbols have no JSON form.
      return undefined;
  }
}

/** What JSON escapes in a string (quote, backslash, controls), and surrogates, whose pairing is checked. */
// eslint-disable-next-line no-control-regex -- the controls are what JSON escapes
const NEEDS_A_LOOK = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string's JSON form: as it is between quotes when nothing in it needs escaping or a check. */
function quoted(text: string): string {
  if (!NEEDS_A_LOOK.test(text)) return `"${text}"`;
  if (!text.isWellFormed()) throw new Error('Lone surrogate is not allowed');
  return JSON.stringify(text);
}

/** Lowercase hex SHA-256 of the value's canonical JSON. */
export function sha256Canonical(value: unknown): string {
  // One-shot: this runs on every call's result, where a Hash object per digest costs as much again.
  return hash('sha256', canonicalJson(value), 'hex');
}

/**
 * The digest of what a tool promises: its name, description and input schema as the downstream server
 * published them. A changed description or schema after approval blocks execution (a "rug pull").
 * An absent description digests like `null`, which a valid Tool never carries.
 */
export function toolDefinitionDigest(
  tool: Pick<Tool, 'name' | 'description'> & { inputSchema: object },
): string {
  return sha256Canonical({
    name: tool.name,
    description: tool.description ?? null,
    inputSchema: tool.inputSchema,
  });
}

/** The digest an approval request is bound to. */
export function invocationDigest(invocation: Invocation): string {
  return sha256Canonical({
    server: invocation.server,
    tool: invocation.tool,
    toolDefinitionDigest: invocation.toolDefinitionDigest,
    arguments: invocation.arguments ?? {},
    callerId: invocation.callerId,
    policyVersion: invocation.policyVersion,
  });
}
