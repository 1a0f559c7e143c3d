import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

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
    const parsed = JSONRPCMessageSchema.safeParse(json);
    if (parsed.success) {
      onMessage(parsed.data);
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
