import { ChannelDeliveryError, isRetryableStatus, parseRetryAfter } from '../channel.js';

/**
 * One outbound HTTP request of a Teams channel (Entra, the Bot Connector, a Workflows URL), with every
 * failure turned into a ChannelDeliveryError the outbox understands: a network error, a timeout, 408,
 * 429 and 5xx are retryable (429 and 503 with the receiver's Retry-After); any other status is final.
 * The message names the target (a host, never a URL: Workflows URLs carry their signature) and the
 * receiver's own words, cut short.
 */
export async function send(
  url: string,
  init: RequestInit & { signal: AbortSignal },
  what: { action: string; target: string },
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    const reason = init.signal.aborted ? 'the time limit was reached' : causeOf(error);
    throw new ChannelDeliveryError(`${what.action}: ${what.target} did not answer (${reason})`, {
      retryable: true,
      target: what.target,
      cause: error,
    });
  }
  if (response.ok) return response;
  const said = await response.text().catch(() => '');
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after') ?? undefined, Date.now());
  throw new ChannelDeliveryError(
    `${what.action}: ${what.target} answered ${response.status}${said ? `: ${brief(said)}` : ''}`,
    {
      retryable: isRetryableStatus(response.status),
      status: response.status,
      target: what.target,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    },
  );
}

/** A receiver's error body in one short line: its `message` or `error_description` when it is JSON. */
function brief(body: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const error = parsed.error as Record<string, unknown> | string | undefined;
    const picked =
      parsed.error_description ??
      (typeof error === 'object' && error !== null ? error.message : error) ??
      parsed.message;
    if (typeof picked === 'string') text = picked;
  } catch {
    // Not JSON: the text as it came.
  }
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
