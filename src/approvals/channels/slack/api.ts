import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type WebClientOptions,
} from '@slack/web-api';
import { z } from 'zod';
import type { Logger } from '../../../log.js';
import { ChannelDeliveryError, isRetryableStatus } from '../channel.js';
import type { ModalView, SlackMessage } from './blockKit.js';
import { slackLogger } from './logger.js';

/**
 * The four Web API methods the Slack channel calls, through Slack's own client (`@slack/web-api`), with
 * the bot token: chat.postMessage, chat.update, chat.postEphemeral and views.open. The client's own
 * retries are off and a 429 is rejected rather than waited out, so every failure reaches the outbox as
 * a ChannelDeliveryError it understands: 429 (with Retry-After), 5xx, network errors and Slack's
 * transient `ok: false` errors are retryable; any other `ok: false` (channel_not_found,
 * not_in_channel, invalid_auth, missing_scope, invalid_blocks, …) is Slack's final word. Messages name
 * the method, the conversation and Slack's error code, never a token.
 */

export interface SlackApi {
  /** Posts `message` (in the thread of `threadTs` when given); resolves to the message's ts. */
  postMessage(
    channel: string,
    message: SlackMessage,
    signal: AbortSignal,
    threadTs?: string,
  ): Promise<string>;
  update(channel: string, ts: string, message: SlackMessage, signal: AbortSignal): Promise<void>;
  postEphemeral(channel: string, user: string, message: SlackMessage, signal: AbortSignal): Promise<void>;
  openView(triggerId: string, view: ModalView, signal: AbortSignal): Promise<void>;
}

/** `ok: false` errors Slack documents as passing: worth another try. */
const TRANSIENT = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

const PostedSchema = z.looseObject({ ts: z.string().min(1) });

export function createSlackApi(options: { token: string; apiUrl: string; logger: Logger }): SlackApi {
  const logger = slackLogger(options.logger);

  /** A client whose requests end with `signal` (the outbox's time limit, or shutdown). */
  function client(signal: AbortSignal): WebClient {
    const settings: WebClientOptions = {
      slackApiUrl: options.apiUrl,
      logger,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      fetch: (url, init) =>
        fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal }),
    };
    return new WebClient(options.token, settings);
  }

  async function call<T>(
    what: string,
    target: string,
    signal: AbortSignal,
    run: (client: WebClient) => Promise<T>,
  ): Promise<T> {
    try {
      return await run(client(signal));
    } catch (error) {
      throw deliveryError(error, `${what} (${target})`, target, signal);
    }
  }

  return {
    async postMessage(channel, message, signal, threadTs) {
      const answer = await call('chat.postMessage', channel, signal, (c) =>
        c.chat.postMessage({
          channel,
          text: message.text,
          blocks: message.blocks,
          unfurl_links: false,
          unfurl_media: false,
          ...(threadTs ? { thread_ts: threadTs } : {}),
        }),
      );
      const posted = PostedSchema.safeParse(answer);
      if (!posted.success) {
        // Posted, perhaps, but with no ts to update it by: not worth posting twice.
        throw new ChannelDeliveryError(`chat.postMessage (${channel}): Slack answered without a message ts`, {
          retryable: false,
          target: channel,
        });
      }
      return posted.data.ts;
    },
    async update(channel, ts, message, signal) {
      await call('chat.update', channel, signal, (c) =>
        c.chat.update({ channel, ts, text: message.text, blocks: message.blocks }),
      );
    },
    async postEphemeral(channel, user, message, signal) {
      await call('chat.postEphemeral', channel, signal, (c) =>
        c.chat.postEphemeral({ channel, user, text: message.text, blocks: message.blocks }),
      );
    },
    async openView(triggerId, view, signal) {
      await call('views.open', 'a modal', signal, (c) => c.views.open({ trigger_id: triggerId, view }));
    },
  };
}

/** Any failure of the Web API client as the outbox classifies it. */
export function deliveryError(
  error: unknown,
  action: string,
  target: string,
  signal?: AbortSignal,
): ChannelDeliveryError {
  const context = { target, cause: error };
  if (error instanceof WebAPIRateLimitedError) {
    return new ChannelDeliveryError(`${action}: Slack answered 429 (retry after ${error.retryAfter} s)`, {
      ...context,
      retryable: true,
      status: 429,
      retryAfterMs: error.retryAfter * 1000,
    });
  }
  if (error instanceof WebAPIPlatformError) {
    const code = typeof error.data.error === 'string' ? error.data.error : 'an error';
    const scope = (error.data as { needed?: unknown }).needed;
    const needed = typeof scope === 'string' ? ` (needs the ${scope} scope)` : '';
    return new ChannelDeliveryError(`${action}: Slack answered ${code}${needed}`, {
      ...context,
      retryable: TRANSIENT.has(code),
    });
  }
  if (error instanceof WebAPIHTTPError) {
    return new ChannelDeliveryError(`${action}: Slack answered ${error.statusCode}`, {
      ...context,
      retryable: isRetryableStatus(error.statusCode),
      status: error.statusCode,
    });
  }
  const reason =
    signal?.aborted === true
      ? 'the time limit was reached'
      : error instanceof WebAPIRequestError
        ? causeOf(error.original)
        : error instanceof Error
          ? error.message
          : String(error);
  return new ChannelDeliveryError(`${action}: Slack did not answer (${reason})`, {
    ...context,
    retryable: true,
  });
}

function causeOf(error: Error): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? error.message;
}
