import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Why a line on a newline-delimited JSON-RPC stream was refused. */
export interface InvalidLine {
  line: string;
  /** 'parse': not JSON; 'invalid': JSON but not a JSON-RPC message. */
  kind: 'parse' | 'invalid';
  /** The `id` of a JSON object that was not a valid message, so an error can answer it. */
  id?: string | number | null;
}

/**
 * Read MCP's stdio framing (one JSON-RPC message per line). Invalid lines are reported, never repaired,
 * and never stop the stream.
 */
export function readJsonRpcLines(
  input: Readable,
  onMessage: (message: JSONRPCMessage) => void,
  onInvalid: (invalid: InvalidLine) => void,
): void {
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      onInvalid({ line, kind: 'parse' });
      return;
    }
    if (isJsonRpcMessage(json)) {
      onMessage(json);
      return;
    }
    const id = (json as { id?: unknown } | null)?.id;
    onInvalid({
      line,
      kind: 'invalid',
      id: typeof id === 'string' || typeof id === 'number' ? id : null,
    });
  });
}

/**
 * The JSON-RPC 2.0 envelope only. Params and results are validated per method by the SDK's Protocol
 * (request schemas on the way in, result schemas on the way back), so a full schema parse of every
 * frame here would validate each message twice on the hot path.
 */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return false;
  const hasId = typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id));
  if (typeof m.method === 'string') {
    const paramsOk = m.params === undefined || (typeof m.params === 'object' && m.params !== null);
    return paramsOk && (m.id === undefined || hasId);
  }
  if (!hasId) return false;
  if ('result' in m) return typeof m.result === 'object' && m.result !== null && !('error' in m);
  if ('error' in m) {
    const e = m.error as Record<string, unknown> | null;
    return typeof e === 'object' && e !== null && Number.isInteger(e.code) && typeof e.message === 'string';
  }
  return false;
}
