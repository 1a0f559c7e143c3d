import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  ElicitRequestSchema,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { passThrough, setRawRequestHandler } from './passThrough.js';

const RESULT = {
  content: [{ type: 'text', text: 'hi', probe: 'block' }],
  structuredContent: { a: 1 },
  probe: 'result',
};

describe('passThrough', () => {
  it('validates with the schema and yields the very value it was given', () => {
    const parsed = passThrough(CallToolResultSchema).parse(RESULT);
    expect(parsed).toBe(RESULT);
    // What the SDK's schema alone returns: a copy without what it does not know.
    expect(CallToolResultSchema.parse(RESULT).content[0]).not.toHaveProperty('probe');
  });

  it('refuses what the schema refuses, with the path of each problem', () => {
    const failed = passThrough(CallToolResultSchema).safeParse({
      content: [{ type: 'text' }],
      isError: 'no',
    });
    expect(failed.success).toBe(false);
    expect(failed.error!.issues.map((i) => i.path.join('.'))).toEqual(['content.0', 'isError']);
  });
});

/** `protocol` on one end of an in-memory pair; the other end records the frames it receives. */
async function wire(protocol: Protocol<never, never, never>) {
  const [near, far] = InMemoryTransport.createLinkedPair();
  const frames: JSONRPCMessage[] = [];
  far.onmessage = (message) => {
    // A Client starts by initializing: the far end plays a server that knows nothing.
    if ('method' in message && message.method === 'initialize' && 'id' in message) {
      const result = {
        protocolVersion: '2025-06-18',
        capabilities: {},
        serverInfo: { name: 'far', version: '1' },
      };
      void far.send({ jsonrpc: '2.0', id: message.id, result });
    } else frames.push(message);
  };
  await protocol.connect(near);
  await far.start();
  const answer = async (message: JSONRPCMessage) => {
    const seen = frames.length;
    await far.send(message);
    await new Promise<void>((resolve) => {
      const check = () => (frames.length > seen ? resolve() : setImmediate(check));
      check();
    });
    return frames.at(-1);
  };
  return { answer };
}

describe('setRawRequestHandler', () => {
  it('hands a Server handler the request as sent and sends its result as it is (no tools/call re-parse)', async () => {
    const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
    let raw: unknown;
    setRawRequestHandler(server as never, CallToolRequestSchema, async (request, sent) => {
      expect(request.params.name).toBe('echo');
      raw = sent.params;
      return RESULT;
    });
    const { answer } = await wire(server as never);
    const params = { name: 'echo', arguments: {}, probe: 'params', _meta: { progressToken: 1, k: 'v' } };
    expect(await answer({ jsonrpc: '2.0', id: 1, method: 'tools/call', params })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: RESULT,
    });
    expect(raw).toEqual(params);
  });

  it('refuses an invalid request with InvalidParams naming what is wrong and where', async () => {
    const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
    setRawRequestHandler(server as never, CallToolRequestSchema, async () => RESULT);
    const { answer } = await wire(server as never);
    const refused = await answer({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 7 } });
    expect(refused).toMatchObject({
      id: 2,
      error: { code: -32602, message: expect.stringMatching(/^Invalid tools\/call request: params\.name: /) },
    });
  });

  it("passes a Client handler's elicitation result on as it is (no re-parse, no defaults)", async () => {
    const client = new Client(
      { name: 'c', version: '1' },
      { capabilities: { elicitation: { form: { applyDefaults: true } } } },
    );
    const result = { action: 'accept', content: { name: 'Ada' }, probe: 'elicit result' };
    setRawRequestHandler(client as never, ElicitRequestSchema, async () => result);
    const { answer } = await wire(client as never);
    const params = {
      message: 'name?',
      requestedSchema: {
        type: 'object',
        properties: { name: { type: 'string' }, age: { type: 'number', default: 3 } },
      },
    };
    expect(await answer({ jsonrpc: '2.0', id: 3, method: 'elicitation/create', params })).toEqual({
      jsonrpc: '2.0',
      id: 3,
      result,
    });
  });
});
