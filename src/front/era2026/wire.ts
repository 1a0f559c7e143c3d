import {
  ErrorCode,
  McpError,
  SUPPORTED_PROTOCOL_VERSIONS,
  type ClientCapabilities,
  type Implementation,
  type LoggingLevel,
} from '@modelcontextprotocol/sdk/types.js';
import { VERSION } from '../../version.js';
import { META, MODERN_VERSION } from '../../shared/modern.js';
import { isObject } from '../../shared/json.js';

/*
 * The 2026-07-28 wire as the specification states it (schema/2026-07-28/schema.ts and
 * basic/index.mdx of modelcontextprotocol/modelcontextprotocol): no handshake; every request carries
 * its protocol version, client capabilities and (optionally) client identity in `_meta`; every result
 * carries `resultType` and the server's identity.
 */

/** The modern revisions Gatehouse serves; legacy ones are served by the SDK v1 Server (front/session.ts). */
export const MODERN_VERSIONS = [MODERN_VERSION] as const;
/** What `server/discover` and UnsupportedProtocolVersion name: modern first, then the legacy ones. */
export const SUPPORTED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS];

/** The Tasks extension (modelcontextprotocol/ext-tasks, SEP-2663). */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** The error codes the 2026-07-28 revision defines (basic/index.mdx, "Error Codes"). */
export const MODERN_ERRORS = {
  headerMismatch: -32020,
  missingRequiredClientCapability: -32021,
  unsupportedProtocolVersion: -32022,
} as const;

export const SERVER_INFO: Implementation = { name: 'gatehouse', version: VERSION };

/** What one modern request says about its sender; nothing of it outlives the request. */
export interface Envelope {
  protocolVersion: string;
  capabilities: ClientCapabilities;
  client?: { name: string; version: string };
  logLevel?: LoggingLevel;
}

type Json = Record<string, unknown>;

function metaOf(params: unknown): Json | undefined {
  const meta = isObject(params) ? params._meta : undefined;
  return isObject(meta) ? meta : undefined;
}

/** The protocol version a message claims in its `_meta`, if it claims one. */
export function claimedVersion(params: unknown): unknown {
  return metaOf(params)?.[META.protocolVersion];
}

/**
 * A request of the modern era: `server/discover` (which only modern clients send), or any request whose
 * `_meta` names a protocol version. Legacy clients never put that key there, so the claim decides.
 */
export function isModernRequest(
  message: unknown,
): message is { id: string | number; method: string; params?: Json } {
  if (!isObject(message) || typeof message.method !== 'string' || message.id === undefined) return false;
  return message.method === 'server/discover' || claimedVersion(message.params) !== undefined;
}

/**
 * The request's envelope, or the error the specification prescribes: Invalid params when a required
 * field is missing or malformed, UnsupportedProtocolVersion (with the versions served) when the
 * version is not one Gatehouse speaks in this era.
 */
export function readEnvelope(method: string, params: unknown): Envelope {
  const meta = metaOf(params);
  const version = meta?.[META.protocolVersion];
  if (typeof version !== 'string') {
    throw new McpError(
      ErrorCode.InvalidParams,
      `Invalid ${method} request: params._meta["${META.protocolVersion}"] is required (a protocol version string)`,
    );
  }
  if (!(MODERN_VERSIONS as readonly string[]).includes(version)) {
    throw new McpError(
      MODERN_ERRORS.unsupportedProtocolVersion,
      `Unsupported protocol version ${version}: this Gatehouse serves ${MODERN_VERSIONS.join(', ')} per request, ` +
        `and ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')} after initialize`,
      { supported: [...SUPPORTED_VERSIONS], requested: version },
    );
  }
  const capabilities = meta![META.clientCapabilities];
  if (!isObject(capabilities)) {
    throw new McpError(
      ErrorCode.InvalidParams,
      `Invalid ${method} request: params._meta["${META.clientCapabilities}"] is required (an object)`,
    );
  }
  const info = meta![META.clientInfo];
  const level = meta![META.logLevel];
  return {
    protocolVersion: version,
    capabilities: capabilities as ClientCapabilities,
    ...(isObject(info) && typeof info.name === 'string' && typeof info.version === 'string'
      ? { client: { name: info.name, version: info.version } }
      : {}),
    ...(typeof level === 'string' ? { logLevel: level as LoggingLevel } : {}),
  };
}

/** Whether the request's sender declared the Tasks extension on this request. */
export const declaresTasks = (envelope: Envelope): boolean =>
  isObject((envelope.capabilities as { extensions?: Json }).extensions?.[TASKS_EXTENSION]);

/**
 * Refuses what only a client with the Tasks extension may ask (task methods, task notifications)
 * with Missing Required Capabilities (-32021), naming the capability, as SEP-2663 asks.
 */
export function requireTasks(envelope: Envelope, what: string): void {
  if (declaresTasks(envelope)) return;
  throw new McpError(
    MODERN_ERRORS.missingRequiredClientCapability,
    `Missing required client capability: ${what} need the Tasks extension (${TASKS_EXTENSION})`,
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
  );
}

/**
 * The params as the downstream gets them: the envelope describes the client's hop to Gatehouse, so
 * its keys stay here (a dual-era downstream would otherwise read a legacy session's request as modern).
 */
export function withoutEnvelope<P>(params: P): P {
  const meta = metaOf(params);
  if (!meta) return params;
  const rest: Json = {};
  let kept = 0;
  for (const [key, value] of Object.entries(meta)) {
    if (key === META.protocolVersion || key === META.clientInfo || key === META.clientCapabilities) continue;
    if (key === META.logLevel) continue;
    rest[key] = value;
    kept += 1;
  }
  const { _meta: _dropped, ...others } = params as Json;
  return (kept > 0 ? { ...others, _meta: rest } : others) as P;
}

/** A modern result: its kind, and who answered (servers SHOULD say so on every result). */
export function complete<R extends object>(result: R): R & { resultType: string } {
  const meta = (result as { _meta?: Json })._meta;
  return {
    ...result,
    resultType: (result as { resultType?: string }).resultType ?? 'complete',
    _meta: { ...meta, [META.serverInfo]: SERVER_INFO },
  };
}

/**
 * List results may be cached for `ttlMs` within `cacheScope` (CacheableResult). Gatehouse's lists change
 * with a policy reload or a server's restart and may differ per caller, so: stale at once, private.
 */
export function cacheable<R extends object>(result: R): R & { ttlMs: number; cacheScope: 'private' } {
  return { ...result, ttlMs: 0, cacheScope: 'private' };
}
