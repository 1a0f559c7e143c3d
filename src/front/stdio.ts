import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';
import { isRequest, isResponse } from '../shared/jsonRpc.js';
import { readJsonRpcLines } from '../shared/jsonLines.js';
import { duplicateIdError, inFlightIds } from './inFlight.js';

/**
 * The client-facing stdio transport. Unlike the SDK's, it answers a malformed line with a JSON-RPC
 * error (parse error, or invalid request with the line's id) and a request whose id is still in
 * flight with an Invalid Request error, and keeps serving. stdout carries nothing but these frames.
 * Closing it lets go of stdin, so a stopping Gatehouse exits even while its client keeps stdin open.
 */
export class StdioFrontTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private closed = false;
  private readonly inFlight = inFlightIds();

  constructor(
    private readonly log: Logger,
    private readonly input: NodeJS.ReadableStream = process.stdin,
    private readonly output: NodeJS.WritableStream = process.stdout,
  ) {}

  async start(): Promise<void> {
    readJsonRpcLines(
      this.input as never,
      (message) => {
        if (isRequest(message) && !this.inFlight.claim(message.id)) {
          void this.write(duplicateIdError(message.id));
          return;
        }
        this.onmessage?.(message);
        this.inFlight.observe(message);
      },
      (invalid) => {
        this.log.warn(
          { kind: invalid.kind, line: invalid.line.slice(0, 512) },
          'malformed JSON-RPC from the client',
        );
        const error =
          invalid.kind === 'parse'
            ? { code: ErrorCode.ParseError, message: 'Parse error: the line is not valid JSON' }
            : {
                code: ErrorCode.InvalidRequest,
                message: 'Invalid Request: not a valid JSON-RPC 2.0 message',
              };
        void this.write({ jsonrpc: '2.0', id: invalid.id ?? null, error } as unknown as JSONRPCMessage);
      },
    );
    this.input.on('end', () => void this.close());
    this.input.on('error', (error: Error) => this.onerror?.(error));
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (isResponse(message)) this.inFlight.answered(message.id);
    return this.write(message);
  }

  /** Refusals go out here, past the bookkeeping: they answer no request the Protocol holds. */
  private write(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      if (this.output.write(serializeMessage(message))) resolve();
      else this.output.once('drain', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inFlight.clear();
    // A paused, unreferenced stdin no longer holds the process up: a stopping Gatehouse exits even
    // while its client keeps stdin open.
    this.input.pause();
    (this.input as { unref?: () => void }).unref?.();
    this.onclose?.();
  }
}
