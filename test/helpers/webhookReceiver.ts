import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { WebhookEvent } from '../../src/approvals/channels/webhook/channel.js';

/**
 * A webhook receiver on 127.0.0.1, as a real one behaves: it verifies every event with the Standard
 * Webhooks reference library (answering 401 when the signature does not verify), answers what the test
 * scripted (200 by default; 429 with Retry-After; 500), keeps what it received, and counts the 2xx it
 * answered per webhook-id: a sender that resends something acknowledged shows up there. It can go down
 * (stop listening) and come back on the same port.
 */

export interface ReceivedEvent {
  id: string;
  timestamp: string;
  signature: string;
  /** For each secret the receiver knows, whether the reference library verified the event with it. */
  verifiedWith: boolean[];
  body: WebhookEvent;
  /** The status the receiver answered. */
  status: number;
}

export interface ScriptedAnswer {
  /** 0: never answer (the connection stays open until the receiver goes down). */
  status: number;
  headers?: Record<string, string>;
}

export interface WebhookReceiver {
  url: string;
  secrets: string[];
  received: ReceivedEvent[];
  /** 2xx answers per webhook-id. */
  acknowledged(): Map<string, number>;
  /** Answers for the next events, in order; then 200 again. */
  script(...answers: ScriptedAnswer[]): void;
  /** From now on every event gets this answer (until `script` or `always(undefined)`). */
  always(answer: ScriptedAnswer | undefined): void;
  /** The first received event (so far or later) that matches; rejects after `timeoutMs`. */
  waitFor(match: (event: ReceivedEvent) => boolean, what: string, timeoutMs?: number): Promise<ReceivedEvent>;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A Standard Webhooks secret: whsec_ and 32 random bytes in base64. */
export const newWebhookSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

export async function startWebhookReceiver(
  secrets: string[] = [newWebhookSecret()],
): Promise<WebhookReceiver> {
  const received: ReceivedEvent[] = [];
  const acks = new Map<string, number>();
  const scripted: ScriptedAnswer[] = [];
  let fixed: ScriptedAnswer | undefined;
  const arrivals = new EventEmitter();
  arrivals.setMaxListeners(0);
  const verifiers = secrets.map((secret) => new Webhook(secret));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const payload = Buffer.concat(chunks).toString('utf8');
    const header = (name: string) => String(req.headers[name] ?? '');
    const headers = {
      'webhook-id': header('webhook-id'),
      'webhook-timestamp': header('webhook-timestamp'),
      'webhook-signature': header('webhook-signature'),
    };
    const verifiedWith = verifiers.map((verifier) => {
      try {
        verifier.verify(payload, headers);
        return true;
      } catch {
        return false;
      }
    });
    const answer = !verifiedWith.some(Boolean)
      ? { status: 401 }
      : (scripted.shift() ?? fixed ?? { status: 200 });
    const event: ReceivedEvent = {
      id: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      signature: headers['webhook-signature'],
      verifiedWith,
      body: JSON.parse(payload) as WebhookEvent,
      status: answer.status,
    };
    if (answer.status >= 200 && answer.status < 300) acks.set(event.id, (acks.get(event.id) ?? 0) + 1);
    received.push(event);
    if (answer.status === 0) {
      arrivals.emit('event', event);
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    res.end('{}');
    arrivals.emit('event', event);
  };

  let server: Server | undefined;
  let port = 0;
  async function up(): Promise<void> {
    server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }
  async function down(): Promise<void> {
    const closing = server;
    server = undefined;
    if (!closing) return;
    closing.closeAllConnections();
    await new Promise<void>((resolve) => closing.close(() => resolve()));
  }
  await up();

  return {
    url: `http://127.0.0.1:${port}/hooks`,
    secrets,
    received,
    acknowledged: () => new Map(acks),
    script: (...answers) => void scripted.push(...answers),
    always: (answer) => void (fixed = answer),
    waitFor(match, what, timeoutMs = 20_000) {
      const found = received.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          arrivals.off('event', listen);
          const seen = received.map((e) => `${e.id} ${e.body.type} -> ${e.status}`).join('\n  ');
          reject(new Error(`timed out waiting for ${what}; received:\n  ${seen}`));
        }, timeoutMs);
        const listen = (event: ReceivedEvent) => {
          if (!match(event)) return;
          clearTimeout(timer);
          arrivals.off('event', listen);
          resolve(event);
        };
        arrivals.on('event', listen);
      });
    },
    down,
    up,
    close: down,
  };
}

/**
 * A receiver's decision on a request: POSTed to the callback URL an event carried, signed with `secret`
 * by the reference library. `id` and `at` override the webhook-id and the signed time.
 */
export async function sendDecision(
  callbackUrl: string,
  secret: string,
  body: Record<string, unknown>,
  options: { id?: string; at?: Date } = {},
): Promise<{
  status: number;
  json: { error?: { code: string; message: string }; approval?: Record<string, unknown> };
  text: string;
}> {
  const payload = JSON.stringify(body);
  const id = options.id ?? `msg_${randomBytes(12).toString('hex')}`;
  const at = options.at ?? new Date();
  const response = await fetch(callbackUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, payload),
    },
    body: payload,
  });
  const text = await response.text();
  return { status: response.status, json: JSON.parse(text) as never, text };
}
