import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../log.js';
import { sendJson } from '../../web/respond.js';
import { readInbound } from '../inbound.js';
import type { SlackChannelConfig } from './config.js';
import type { InteractionAnswer } from './interactions.js';
import { verifySlackSignature } from './signature.js';

/**
 * The interactivity endpoint (HTTP transport) on Gatehouse's listener: Slack POSTs each click and modal
 * submission to approvals.publicUrl + `path`, form-encoded (`payload=<JSON>`), signed with the app's
 * signing secret. In order: the size (413 unread beyond `maxBodyBytes`), the v0 signature over the raw
 * body with a timestamp within five minutes either way (401 otherwise, and nothing of the body is
 * parsed), the payload (400), the replay guard (409 for an interaction already processed, 503 when it
 * is full), then the answer Slack waits for (within its 3 seconds) and, after it, the decision.
 */
export function createInteractionRoute(options: {
  config: Pick<SlackChannelConfig, 'path' | 'signingSecret' | 'maxBodyBytes'>;
  handle: (payload: unknown, signedAtMs: number) => InteractionAnswer;
  /** Runs what an accepted interaction does after its answer. */
  later: (work: () => Promise<void>) => void;
  logger: Logger;
  now: () => Date;
}) {
  const { config, logger: log } = options;
  const refuse = (req: IncomingMessage, res: ServerResponse, reason: string) => {
    log.warn({ reason, remote: req.socket.remoteAddress }, 'Slack interaction refused');
    sendJson(res, 401, { error: 'unauthorized' });
  };

  return async function routes(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? '/', 'http://gatehouse.invalid').pathname;
    if (path !== config.path) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'POST only' }, { allow: 'POST' });
      return true;
    }
    const body = await readInbound(req, res, config.maxBodyBytes, 'interaction');
    if (!body) return true;
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const check = verifySlackSignature(
      config.signingSecret!,
      { timestamp: header('x-slack-request-timestamp'), signature: header('x-slack-signature') },
      body,
      options.now().getTime(),
    );
    if (!check.ok) {
      refuse(req, res, check.reason);
      return true;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(new URLSearchParams(body.toString('utf8')).get('payload') ?? '');
    } catch {
      payload = undefined;
    }
    const answer = options.handle(payload, check.timestampMs);
    switch (answer.outcome) {
      case 'unreadable':
        sendJson(res, 400, { error: 'not a Slack interaction payload' });
        return true;
      case 'replayed':
        sendJson(res, 409, { error: 'this interaction was processed already' });
        return true;
      case 'full':
        sendJson(res, 503, { error: 'too many interactions at once; try again in a few minutes' });
        return true;
    }
    // Slack's 3 seconds are for this answer; the decision comes after it.
    if (answer.ack) sendJson(res, 200, answer.ack);
    else res.writeHead(200).end();
    if (answer.after) options.later(answer.after);
    return true;
  };
}
