import type { IncomingMessage } from 'node:http';
import { GatehouseError, isGatehouseError } from '../errors.js';

/**
 * The client hung up before its request body was complete (CLIENT_ABORTED). Not a fault of
 * Gatehouse's, nor of the request's content: the listener logs it at debug and counts it
 * (`http.abortedRequests` in status); there is nobody left to answer.
 */
const clientAborted = () =>
  new GatehouseError(
    'CLIENT_ABORTED',
    'the client closed the connection before its request body was complete',
  );

export const isClientAborted = (error: unknown): error is GatehouseError =>
  isGatehouseError(error, 'CLIENT_ABORTED');

/**
 * A request body of at most `limit` bytes, or undefined as soon as it grows past that (reading
 * stops). Rejects with CLIENT_ABORTED when the client hangs up mid-body. Events rather than
 * `for await`: the async iterator costs more than the rest of a small request's handling, and /mcp
 * reads one body per tool call.
 */
export function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Drained, not kept: the connection stays usable for the answer and the next request.
      req.off('data', onData).resume();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    // Node reports a hang-up mid-body as an 'error' (ECONNRESET, "aborted"), then 'close'. A request
    // that closes without either 'end' or 'error' is cut short too. Once settled, these change nothing.
    const aborted = () => {
      chunks.length = 0;
      reject(clientAborted());
    };
    req.once('error', aborted);
    req.once('close', () => {
      if (!req.complete) aborted();
    });
  });
}
