import type { request } from 'undici';
import { describeNetworkFailure } from '../../downstream/httpTransport.js';
import { undici } from '../../shared/undici.js';
import { MintError } from './types.js';

/** More than any token or lease response; a larger body is cut off and refused. */
const MAX_BODY_BYTES = 256 * 1024;

export interface JsonAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

/**
 * One request to a credential issuer (a token endpoint, Vault) on undici, bounded by `signal` and in
 * size; the answer as JSON when it is JSON. Network failures are told in words, without the URL's
 * query (which may carry a key).
 */
export async function requestJson(
  url: string,
  init: {
    method: 'GET' | 'POST' | 'PUT';
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
  },
  what: string,
): Promise<JsonAnswer> {
  let answer: Awaited<ReturnType<typeof request>>;
  try {
    answer = await undici().request(url, init);
  } catch (error) {
    if (init.signal.aborted) throw new MintError(`${what} did not answer in time`);
    throw new MintError(`${what} could not be reached: ${describeNetworkFailure(error)}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        answer.body.destroy();
        throw new MintError(`${what} answered with more than ${MAX_BODY_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof MintError) throw error;
    if (init.signal.aborted) throw new MintError(`${what} did not answer in time`);
    throw new MintError(`${what}'s answer broke off: ${describeNetworkFailure(error)}`);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { status: answer.statusCode, body };
}

/** `application/x-www-form-urlencoded` of the fields that are set. */
export function formBody(fields: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) params.set(key, value);
  return params.toString();
}

/** The host and path of an endpoint, for messages: no userinfo, no query. */
export function endpointName(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
