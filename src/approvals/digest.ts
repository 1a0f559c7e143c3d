import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
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
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new GatehouseError(
      'DIGEST_INPUT_INVALID',
      `cannot canonicalise the value as RFC 8785 JSON: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new GatehouseError(
      'DIGEST_INPUT_INVALID',
      'cannot canonicalise the value as RFC 8785 JSON: not a JSON value',
    );
  }
  return text;
}

/** Lowercase hex SHA-256 of the value's canonical JSON. */
export function sha256Canonical(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
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
