import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { SafeHtml } from './html.js';
import { STYLESHEET } from './pages/style.js';
import { readBoundedBody } from '../../shared/body.js';

/**
 * Writing responses and reading bodies for the approval page and API. Every page carries a strict
 * Content-Security-Policy: no script at all, the one inline stylesheet allowed by its hash, forms that
 * post only back here, no framing, no referrer to other sites (request ids and OIDC codes stay out of
 * other logs). The referrer policy is same-origin, not no-referrer: under no-referrer a browser sends
 * `Origin: null` with the page's own form posts, which the listener's Origin check rightly refuses.
 */
const STYLE_HASH = createHash('sha256').update(STYLESHEET, 'utf8').digest('base64');

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export type Headers = Record<string, string | string[]>;

export function sendHtml(res: ServerResponse, status: number, page: SafeHtml, headers: Headers = {}): void {
  const body = page.value;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const text = status === 204 ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    ...(status === 204 ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** 303: the browser follows with a GET, so a reload never re-submits a decision. */
export function redirect(res: ServerResponse, location: string, headers: Headers = {}): void {
  res.writeHead(303, { ...COMMON_HEADERS, location, 'content-length': 0, ...headers });
  res.end();
}

/** The body was too large, of the wrong type, or not what it should be; nothing was acted on. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a body of the expected media type, at most `limit` bytes, as text. */
export async function readBody(req: IncomingMessage, mediaType: string, limit: number): Promise<string> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== mediaType) throw new BodyError(415, `expected a ${mediaType} body, got ${type || 'none'}`);
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new BodyError(413, `the body is larger than ${limit} bytes`);
  const body = await readBoundedBody(req, limit);
  if (!body) throw new BodyError(413, `the body is larger than ${limit} bytes`);
  return body.toString('utf8');
}

export async function readForm(req: IncomingMessage, limit = 32 * 1024): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(req, 'application/x-www-form-urlencoded', limit));
}

export async function readJsonBody(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const text = await readBody(req, 'application/json', limit);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BodyError(400, 'the body is not valid JSON');
  }
}

/** The peer address: the limiter's notion of a client. Forwarded headers are not trusted. */
export function clientAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
