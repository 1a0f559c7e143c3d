import type { IncomingMessage } from 'node:http';

/**
 * A request body of at most `limit` bytes, or undefined as soon as it grows past that (reading
 * stops). Events rather than `for await`: the async iterator costs more than the rest of a small
 * request's handling, and /mcp reads one body per tool call.
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
    req.once('error', reject);
  });
}
