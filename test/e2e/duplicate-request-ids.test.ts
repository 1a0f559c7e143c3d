import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdio, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { gatehouseArgs, startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';
import { eventually, spawnProcess } from '../helpers/processes.js';

/**
 * A client that reuses the id of a request still in flight gets an Invalid Request error for the
 * second request, and the first one still gets its answer, on both fronts. The JSON-RPC is written by
 * hand: an SDK client never reuses an id.
 */

type Message = Record<string, unknown> & { id?: unknown; method?: string };

/** A client that sends raw JSON-RPC and collects every message Gatehouse sends back, in order. */
interface RawClient {
  send(message: object): Promise<void>;
  /** The first message received (before or after this call) that matches. */
  next(match: (m: Message) => boolean, what: string): Promise<Message>;
  close(): Promise<void>;
}

const scratch = scratchDir('duplicate-ids');
let config: string;
beforeAll(() => {
  config = scratch.write('config.json', gatehouseConfig({ everything: everythingStdio() }));
});
afterAll(() => scratch.remove());

function collector() {
  const received: Message[] = [];
  return {
    received,
    async next(match: (m: Message) => boolean, what: string): Promise<Message> {
      await eventually(() => received.some(match), what, 20_000);
      return received.find(match)!;
    },
  };
}

async function stdioClient(): Promise<RawClient> {
  const gatehouse = spawnProcess(process.execPath, gatehouseArgs('serve', '--config', config));
  const { received, next } = collector();
  let buffered = '';
  gatehouse.child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      received.push(JSON.parse(buffered.slice(0, newline)) as Message);
      buffered = buffered.slice(newline + 1);
    }
  });
  return {
    send: async (message) => void gatehouse.child.stdin!.write(`${JSON.stringify(message)}\n`),
    next,
    close: async () => void (await gatehouse.stop()),
  };
}

/** Every POST's answer (one JSON body or an SSE stream) feeds one list, as a client sees them. */
async function httpClient(gatehouse: HttpGatehouse): Promise<RawClient> {
  const { received, next } = collector();
  let session: string | undefined;
  const streams: Promise<void>[] = [];
  const read = async (response: Response) => {
    const type = response.headers.get('content-type') ?? '';
    if (type.startsWith('application/json')) {
      const body = (await response.json()) as Message | Message[];
      received.push(...(Array.isArray(body) ? body : [body]));
      return;
    }
    if (!type.startsWith('text/event-stream')) return void (await response.body?.cancel());
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body!) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = event.split('\n').find((line) => line.startsWith('data: '));
        if (data) received.push(JSON.parse(data.slice(6)) as Message);
      }
    }
  };
  return {
    async send(message) {
      const response = await fetch(gatehouse.mcpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
          ...(session ? { 'mcp-session-id': session } : {}),
        },
        body: JSON.stringify(message),
      });
      session ??= response.headers.get('mcp-session-id') ?? undefined;
      // A stream cut when Gatehouse stops ends the reading, nothing more.
      streams.push(read(response).catch(() => undefined));
    },
    next,
    async close() {
      await Promise.allSettled(streams);
    },
  };
}

const SLOW_ID = 7;
/** Progress at every half second for six seconds: in flight long after its first progress. */
const slowCall = {
  jsonrpc: '2.0',
  id: SLOW_ID,
  method: 'tools/call',
  params: {
    name: 'everything__trigger-long-running-operation',
    arguments: { duration: 6, steps: 12 },
    _meta: { progressToken: 'slow' },
  },
};

describe.each(['stdio', 'http'] as const)('over %s', (front) => {
  let gatehouse: HttpGatehouse | undefined;
  let client: RawClient;
  beforeAll(async () => {
    if (front === 'http') gatehouse = await startHttpGatehouse(config);
    client = front === 'http' ? await httpClient(gatehouse!) : await stdioClient();
    await client.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: 'raw', version: '0' },
      },
    });
    await client.next((m) => m.id === 1, 'the initialize answer');
    await client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await client.close();
  });

  it('refuses a request whose id is in flight, and still answers the first one', async () => {
    await client.send(slowCall);
    // Its first progress notification: the call is now in flight, for seconds yet.
    await client.next((m) => m.method === 'notifications/progress', 'the slow call to report progress');
    await client.send({ jsonrpc: '2.0', id: SLOW_ID, method: 'ping' });

    const refusal = await client.next((m) => m.id === SLOW_ID && 'error' in m, 'the ping to be refused');
    expect(refusal).toEqual({
      jsonrpc: '2.0',
      id: SLOW_ID,
      error: {
        code: -32600,
        message: `Invalid Request: request id ${SLOW_ID} is already in flight in this session; use a new id`,
      },
    });
    const answer = await client.next(
      (m) => m.id === SLOW_ID && 'result' in m,
      'the slow call to be answered',
    );
    expect(answer.result).toMatchObject({
      content: [{ type: 'text', text: expect.stringContaining('Long running operation completed') }],
    });

    // Answered, the id is free again.
    await client.send({ jsonrpc: '2.0', id: SLOW_ID, method: 'ping' });
    await client.next(
      (m) => m.id === SLOW_ID && 'result' in m && m !== answer && !('content' in (m.result as object)),
      'the second ping to be answered',
    );
  });
});
