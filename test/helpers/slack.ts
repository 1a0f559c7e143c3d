import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { blockKitProblems } from './blockKit.js';

/**
 * Slack, played by a real server on 127.0.0.1: the Web API (POST /api/<method>, form-encoded as
 * Slack's client sends it, bearer tokens) for chat.postMessage, chat.update, chat.postEphemeral,
 * views.open and apps.connections.open, answering as Slack does (`ok: false` with an error code,
 * `invalid_blocks` for blocks beyond Block Kit's limits, 429 with Retry-After when scripted), and the
 * Socket Mode WebSocket that apps.connections.open points to, speaking its envelope: `hello` on
 * connect, events with envelope ids, acknowledgements back, `disconnect` on request.
 */

export const BOT_TOKEN = 'xoxb-1111-2222-gatehousetestbottoken';
export const APP_TOKEN = 'xapp-1-A0GATEHOUSE-3333-gatehousetestapptoken';
export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
export const TEAM = 'T0GATEHOUSE';
export const OTHER_TEAM = 'T0ELSEWHERE';
export const CONVERSATION = 'C0APPROVALS';

export interface SlackCall {
  method: string;
  /** The bearer token it came with. */
  token: string | undefined;
  /** The arguments, with `blocks` and `view` parsed from the JSON Slack's client sends them as. */
  args: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface SocketEnvelope {
  envelope_id: string;
  type: string;
  payload: unknown;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface FakeSlack {
  /** The Web API's base URL, as `apiUrl` takes it. */
  apiUrl: string;
  calls: SlackCall[];
  /** The calls of one method, in order. */
  of(method: string): SlackCall[];
  /** The next Web API requests get these answers, in order, instead of the usual one. */
  failNext(...answers: Scripted[]): void;
  /** Socket Mode: the connections opened so far (each after its own apps.connections.open). */
  connections(): number;
  /** Socket Mode: resolves when the `n`th connection has been sent its hello. */
  connected(n: number): Promise<void>;
  /** Socket Mode: sends an `interactive` envelope on the newest connection; resolves to its acknowledgement. */
  send(
    payload: unknown,
    envelopeId?: string,
  ): Promise<{ envelope_id: string; payload?: Record<string, unknown> }>;
  /** Socket Mode: asks the newest connection to reconnect, as Slack does before recycling a server. */
  disconnect(reason?: string): void;
  close(): Promise<void>;
}

export async function startSlack(): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const scripted: Scripted[] = [];
  const sockets: WebSocket[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  const acks = new Map<string, (ack: { envelope_id: string; payload?: Record<string, unknown> }) => void>();
  let posted = 0;
  const messages = new Set<string>();
  let base = '';

  function answer(call: SlackCall): Scripted {
    const ok = (body: Record<string, unknown>) => ({ status: 200, body: { ok: true, ...body } });
    const refuse = (error: string, extra: Record<string, unknown> = {}) => ({
      status: 200,
      body: { ok: false, error, ...extra },
    });
    const { method, token, args } = call;
    if (method === 'apps.connections.open') {
      if (token === BOT_TOKEN) return refuse('not_allowed_token_type');
      if (token !== APP_TOKEN) return refuse('invalid_auth');
      return ok({ url: `${base.replace('http:', 'ws:')}/link/?ticket=${randomUUID()}&app_id=A0GATEHOUSE` });
    }
    if (token !== BOT_TOKEN)
      return refuse(token?.startsWith('xapp-') ? 'not_allowed_token_type' : 'invalid_auth');
    switch (method) {
      case 'chat.postMessage':
      case 'chat.update': {
        const problems = blockKitProblems({ text: args.text, blocks: args.blocks });
        if (problems.length > 0) return refuse('invalid_blocks', { errors: problems });
        if (method === 'chat.update') {
          if (!messages.has(`${args.channel}/${args.ts}`)) return refuse('message_not_found');
          return ok({ channel: args.channel, ts: args.ts, text: args.text });
        }
        const ts = `${1_700_000_000 + ++posted}.000100`;
        messages.add(`${args.channel}/${ts}`);
        return ok({ channel: args.channel, ts, message: { type: 'message', text: args.text, ts } });
      }
      case 'chat.postEphemeral':
        return ok({ message_ts: `${1_700_000_000 + posted}.000200` });
      case 'views.open': {
        const problems = blockKitProblems(args.view, 'modal');
        if (problems.length > 0)
          return refuse('invalid_arguments', { response_metadata: { messages: problems } });
        if (typeof args.trigger_id !== 'string') return refuse('invalid_trigger_id');
        return ok({ view: { id: `V${randomBytes(5).toString('hex').toUpperCase()}`, ...args.view } });
      }
      default:
        return refuse('unknown_method');
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const method = /^\/api\/([a-zA-Z.]+)$/.exec(req.url ?? '')?.[1];
      if (!method || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const args: Record<string, unknown> = {};
      for (const [key, value] of form) {
        args[key] = key === 'blocks' || key === 'view' ? JSON.parse(value) : value;
      }
      const call = { method, token: req.headers.authorization?.replace(/^Bearer /, ''), args };
      calls.push(call);
      const { status, headers = {}, body } = scripted.shift() ?? answer(call);
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(text);
    });
  });

  const wss = new WebSocketServer({ server, path: '/link/' });
  wss.on('connection', (socket) => {
    sockets.push(socket);
    socket.on('message', (data) => {
      const ack = JSON.parse(String(data)) as { envelope_id: string; payload?: Record<string, unknown> };
      acks.get(ack.envelope_id)?.(ack);
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0GATEHOUSE' },
      }),
    );
    for (const waiter of waiting.filter((w) => w.n <= sockets.length)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve();
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const newest = () => sockets.at(-1)!;

  return {
    apiUrl: `${base}/api/`,
    calls,
    of: (method) => calls.filter((c) => c.method === method),
    failNext: (...answers) => void scripted.push(...answers),
    connections: () => sockets.length,
    connected(n) {
      if (sockets.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => waiting.push({ n, resolve }));
    },
    send(payload, envelopeId = randomUUID()) {
      const acked = new Promise<{ envelope_id: string; payload?: Record<string, unknown> }>((resolve) =>
        acks.set(envelopeId, resolve),
      );
      const envelope: SocketEnvelope = {
        envelope_id: envelopeId,
        type: 'interactive',
        payload,
        accepts_response_payload: (payload as { type?: string }).type === 'view_submission',
      };
      newest().send(JSON.stringify(envelope));
      return acked;
    },
    disconnect(reason = 'refresh_requested') {
      newest().send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-fake' } }));
    },
    close: async () => {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A trigger id as Slack makes them: new for every click and submission. */
export const triggerId = () =>
  `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString('hex')}`;

export interface Clicker {
  userId: string;
  teamId?: string;
  /**
   * Enterprise Grid: the organization the workspace belongs to. Slack then reports the organization's
   * id as the user's `team_id`, and the organization on `team` and `enterprise`.
   */
  enterpriseId?: string;
  /** An app deployed to the whole organization: `team` is null, `is_enterprise_install` true. */
  orgWide?: boolean;
  /**
   * Slack Connect: the clicker's own workspace (their `team_id`), when they click in a conversation
   * of `teamId`'s.
   */
  homeTeamId?: string;
}

/** Who clicked, where, as Slack's interaction payloads say it (block_actions and view_submission alike). */
function parties(who: Clicker): Record<string, unknown> {
  const team = who.teamId ?? TEAM;
  const org = who.enterpriseId;
  const name = who.userId.toLowerCase();
  return {
    user: { id: who.userId, username: name, name, team_id: org ?? who.homeTeamId ?? team },
    team:
      who.orgWide === true
        ? null
        : {
            id: team,
            domain: 'gatehouse-test',
            ...(org ? { enterprise_id: org, enterprise_name: 'Gatehouse Org' } : {}),
          },
    enterprise: org ? { id: org, name: 'Gatehouse Org' } : null,
    is_enterprise_install: who.orgWide === true,
  };
}

/** A click on one of a message's buttons, as Slack sends it (block_actions). */
export function blockAction(
  actionId: string,
  value: string | undefined,
  who: Clicker,
  options: { channel?: string; messageTs?: string; trigger?: string } = {},
): Record<string, unknown> {
  const channel = options.channel ?? CONVERSATION;
  const ts = options.messageTs ?? '1700000001.000100';
  return {
    type: 'block_actions',
    ...parties(who),
    api_app_id: 'A0GATEHOUSE',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false },
    trigger_id: options.trigger ?? triggerId(),
    channel: { id: channel, name: 'approvals' },
    message: { type: 'message', ts, text: 'Approval requested' },
    state: { values: {} },
    response_url: 'https://hooks.slack.com/actions/T0GATEHOUSE/1/never-called',
    actions: [
      {
        action_id: actionId,
        block_id: 'gatehouse:block',
        text: { type: 'plain_text', text: 'Approve', emoji: false },
        ...(value !== undefined ? { value } : {}),
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** The submission of the reject modal with `reason`, as Slack sends it (view_submission). */
export function viewSubmission(
  privateMetadata: string,
  reason: string,
  who: Clicker,
  options: { trigger?: string; callbackId?: string } = {},
): Record<string, unknown> {
  return {
    type: 'view_submission',
    ...parties(who),
    api_app_id: 'A0GATEHOUSE',
    token: 'deprecated-verification-token',
    trigger_id: options.trigger ?? triggerId(),
    view: {
      id: `V${randomBytes(5).toString('hex').toUpperCase()}`,
      team_id: who.orgWide ? who.enterpriseId : (who.teamId ?? TEAM),
      type: 'modal',
      callback_id: options.callbackId ?? 'gatehouse_reject',
      private_metadata: privateMetadata,
      hash: `${Date.now()}.${randomBytes(4).toString('hex')}`,
      state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } },
    },
    response_urls: [],
  };
}

/**
 * An interaction as Slack POSTs it to the Request URL: `payload=<JSON>`, form-encoded, signed with
 * v0 = HMAC-SHA256(secret, "v0:<timestamp>:<body>"). Written here from Slack's documentation, apart
 * from Gatehouse's verifier. `at`: the signed time in seconds (default now).
 */
export function signedInteraction(
  payload: unknown,
  options: { secret?: string; at?: number; body?: string } = {},
): { headers: Record<string, string>; body: string } {
  const body = options.body ?? new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(options.at ?? Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', options.secret ?? SIGNING_SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex');
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': `v0=${signature}`,
    },
    body,
  };
}
