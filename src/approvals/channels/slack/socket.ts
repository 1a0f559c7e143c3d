import { SocketModeClient } from '@slack/socket-mode';
import type { Logger } from '../../../log.js';
import type { SlackChannelConfig } from './config.js';
import type { InteractionAnswer } from './interactions.js';
import { slackLogger } from './logger.js';

/**
 * Socket Mode: Gatehouse asks Slack for a WebSocket URL (apps.connections.open, with the app-level
 * token, at `apiUrl`) and connects out, so a Gatehouse behind NAT or on a laptop takes clicks without
 * a public URL. Slack's own client (`@slack/socket-mode`) keeps the connection: it waits for `hello`,
 * reconnects with a fresh URL when Slack sends `disconnect` or the connection drops, and pings. Each
 * `interactive` envelope is acknowledged with its envelope_id (and a modal's errors, when there are
 * any) before the decision is made. Only Slack can send on a connection opened with the app's token,
 * so envelopes carry no signature.
 */

/** How long closing waits for Slack to answer the WebSocket's close. */
const CLOSE_MS = 2_000;

export interface SocketModeOptions {
  /** How long a ping may go unanswered, and the unit of the reconnection delay (the client's default: 5 s). */
  clientPingTimeoutMs?: number;
}

export interface SocketConnection {
  /** Resolves once connected (Slack's hello), or rejects when Slack refuses the token. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function startSocketMode(options: {
  config: Pick<SlackChannelConfig, 'appToken' | 'apiUrl'>;
  handle: (payload: unknown, receivedAtMs: number) => InteractionAnswer;
  later: (work: () => Promise<void>) => void;
  logger: Logger;
  now: () => Date;
  socket?: SocketModeOptions;
}): SocketConnection {
  const log = options.logger;
  const client = new SocketModeClient({
    appToken: options.config.appToken!,
    logger: slackLogger(log),
    clientOptions: { slackApiUrl: options.config.apiUrl },
    ...(options.socket?.clientPingTimeoutMs ? { clientPingTimeout: options.socket.clientPingTimeoutMs } : {}),
  });
  client.on('connected', () => log.info('Slack Socket Mode connected'));
  client.on('reconnecting', () => log.info('Slack Socket Mode reconnecting'));
  client.on(
    'interactive',
    async ({ ack, body }: { ack: (response?: Record<string, unknown>) => Promise<void>; body: unknown }) => {
      const answer = options.handle(body, options.now().getTime());
      try {
        // A refused envelope is acknowledged too: Slack would only send it again.
        await ack(answer.outcome === 'accepted' ? answer.ack : undefined);
      } catch (error) {
        log.warn({ err: error }, 'Slack Socket Mode: the acknowledgement was not sent');
        return;
      }
      if (answer.outcome === 'unreadable') log.warn('Slack Socket Mode: an unreadable interaction ignored');
      if (answer.outcome === 'accepted' && answer.after) options.later(answer.after);
    },
  );
  const ready = client.start().then(
    () => undefined,
    (error: unknown) => {
      // A refused token (invalid_auth, not_allowed_token_type) is final: Slack's clicks stay unanswered.
      log.error({ err: error }, 'Slack Socket Mode could not connect; clicks in Slack are not received');
      throw error;
    },
  );
  ready.catch(() => undefined);
  return {
    ready,
    async close() {
      // Slack's client waits up to 30 s for the close handshake; a stopping Gatehouse does not.
      const bound = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_MS).unref());
      await Promise.race([client.disconnect(), bound]);
    },
  };
}
