import type { IncomingMessage, ServerResponse } from 'node:http';
import { isClientAborted, readBoundedBody } from '../../shared/body.js';
import { sendJson } from '../web/respond.js';

/**
 * The body of a request to a channel's endpoint (the Teams bot's, Slack's interactions), at most
 * `limit` bytes: a larger one is answered 413 without being read further, and a client that hangs up
 * mid-body gets no answer. Undefined when it has been answered (or cannot be).
 */
export async function readInbound(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  what: string,
): Promise<Buffer | undefined> {
  let body: Buffer | undefined;
  try {
    body = Number(req.headers['content-length']) > limit ? undefined : await readBoundedBody(req, limit);
  } catch (error) {
    if (isClientAborted(error)) return undefined;
    throw error;
  }
  if (!body) sendJson(res, 413, { error: `the ${what} is larger than ${limit} bytes` });
  return body;
}
