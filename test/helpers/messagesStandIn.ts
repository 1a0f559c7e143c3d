import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A stand-in for the Anthropic Messages API on 127.0.0.1, for driving Claude Code without a model
 * service (ANTHROPIC_BASE_URL points here). It answers POST /v1/messages, streamed (SSE, the events
 * of the API's streaming format) or not, with the turn `decide` returns, and keeps every request so a
 * test can read what Claude Code sent: the tools it offered the model and the tool results.
 */

export type Turn = { text: string } | { toolUse: { name: string; input: Record<string, unknown> } };

export interface StandInRequest {
  path: string;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface MessagesStandIn {
  url: string;
  requests: StandInRequest[];
  close(): Promise<void>;
}

/** The content blocks of every message a request carries, flattened. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const blocksOf = (body: StandInRequest['body']): Record<string, any>[] =>
  (body.messages ?? []).flatMap((message: { content: unknown }) =>
    Array.isArray(message.content) ? message.content : [{ type: 'text', text: message.content }],
  );

let ids = 0;

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function message(body: StandInRequest['body'], turn: Turn) {
  const id = `msg_standin_${++ids}`;
  const content: Block[] =
    'text' in turn
      ? [{ type: 'text', text: turn.text }]
      : [
          {
            type: 'tool_use',
            id: `toolu_standin_${ids}`,
            name: turn.toolUse.name,
            input: turn.toolUse.input,
          },
        ];
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: body.model ?? 'claude-stand-in',
    content,
    stop_reason: 'text' in turn ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  };
}

function stream(res: ServerResponse, whole: ReturnType<typeof message>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (type: string, data: object) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  send('message_start', { message: { ...whole, content: [], stop_reason: null } });
  whole.content.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      send('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: whole.stop_reason, stop_sequence: null },
    usage: { output_tokens: 1 },
  });
  send('message_stop', {});
  res.end();
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startMessagesStandIn(
  decide: (body: StandInRequest['body']) => Turn,
): Promise<MessagesStandIn> {
  const requests: StandInRequest[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const path = (req.url ?? '/').split('?')[0]!;
      let body: StandInRequest['body'] = {};
      try {
        body = raw ? (JSON.parse(raw) as StandInRequest['body']) : {};
      } catch {
        body = { raw };
      }
      requests.push({ path, body });
      if (req.method !== 'POST' || path !== '/v1/messages') {
        // count_tokens and anything else Claude Code asks on the side: a plain, harmless answer.
        res.writeHead(path === '/v1/messages/count_tokens' ? 200 : 404, {
          'content-type': 'application/json',
        });
        res.end(
          JSON.stringify(path === '/v1/messages/count_tokens' ? { input_tokens: 1 } : { type: 'error' }),
        );
        return;
      }
      const whole = message(body, decide(body));
      if (body.stream) return stream(res, whole);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(whole));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
