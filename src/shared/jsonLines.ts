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
 * and never stop the stream. A line ends at LF (CRLF too: JSON ignores the CR); a last line without
 * one is read at the end of the stream.
 *
 * Lines are cut from the byte chunks as they come, and only a complete line is decoded: node:readline
 * decodes every chunk and splits it with a regular expression, which on the hot path of every call
 * (two reads per call on stdio) cost more than the JSON.parse of the line.
 */
export function readJsonRpcLines(
  input: Readable,
  onMessage: (message: JSONRPCMessage) => void,
  onInvalid: (invalid: InvalidLine) => void,
): void {
  const line = (text: string) => {
    if (text.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      onInvalid({ line: text, kind: 'parse' });
      return;
    }
    if (isJsonRpcMessage(json)) {
      onMessage(json);
      return;
    }
    const id = (json as { id?: unknown } | null)?.id;
    onInvalid({
      line: text,
      kind: 'invalid',
      id: typeof id === 'string' || typeof id === 'number' ? id : null,
    });
  };
  // The start of a line that has not ended yet, in chunks: joined once, when its end arrives.
  let pending: Buffer[] = [];
  input.on('data', (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (let end = data.indexOf(LF); end !== -1; end = data.indexOf(LF, start)) {
      if (pending.length > 0) {
        pending.push(data.subarray(start, end));
        line(Buffer.concat(pending).toString('utf8'));
        pending = [];
      } else {
        line(data.toString('utf8', start, end));
      }
      start = end + 1;
    }
    if (start < data.length) pending.push(data.subarray(start));
  });
  input.on('end', () => {
    if (pending.length > 0) line(Buffer.concat(pending).toString('utf8'));
    pending = [];
  });
}

const LF = 0x0a;

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
