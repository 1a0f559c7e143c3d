import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestClient } from '../helpers/client.js';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { gatehouseArgs, startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';
import { spawnProcess } from '../helpers/processes.js';

/**
 * A client that sends garbage gets a JSON-RPC error and Gatehouse keeps serving; on stdio, Gatehouse's
 * stdout carries nothing but JSON-RPC, even with a downstream that prints garbage on its own stdout.
 */

const scratch = scratchDir('malformed');
let config: string;
beforeAll(() => {
  config = scratch.write('config.json', gatehouseConfig({ noisy: fixtureServer('noisy-stdout') }));
});
afterAll(() => scratch.remove());

const initialize = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'raw', version: '0' },
  },
});

describe('over stdio', () => {
  it('answers garbage with JSON-RPC errors, keeps serving, and writes only JSON-RPC to stdout', async () => {
    const gatehouse = spawnProcess(process.execPath, gatehouseArgs('serve', '--config', config));
    const responses: Record<string, unknown>[] = [];
    const lines: string[] = [];
    let buffered = '';
    gatehouse.child.stdout!.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        responses.push(JSON.parse(lines.at(-1)!) as Record<string, unknown>);
      }
    });
    const send = (line: string) => gatehouse.child.stdin!.write(`${line}\n`);
    const answer = async (count: number) => {
      const deadline = Date.now() + 15_000;
      while (responses.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return responses[count - 1];
    };

    try {
      send('this is not JSON');
      expect(await answer(1)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
      send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 42 }));
      expect(await answer(2)).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: -32600 } });
      send('{"jsonrpc": "2.0", "id": 8, "method": "ping"'); // cut short
      expect(await answer(3)).toMatchObject({ id: null, error: { code: -32700 } });

      send(JSON.stringify(initialize(1)));
      expect(await answer(4)).toMatchObject({ id: 1, result: { serverInfo: { name: 'gatehouse' } } });
      send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      send(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'noisy__echo', arguments: { message: 'hi' } },
        }),
      );
      expect(await answer(5)).toEqual({
        jsonrpc: '2.0',
        id: 2,
        result: { content: [{ type: 'text', text: 'hi' }] },
      });
      send('garbage again');
      send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }));
      expect(await answer(6)).toMatchObject({ id: null, error: { code: -32700 } });
      expect(await answer(7)).toEqual({ jsonrpc: '2.0', id: 3, result: {} });
    } finally {
      gatehouse.child.stdin!.end();
      await gatehouse.exited;
    }
    // Every stdout line parsed as JSON above; none is the downstream's noise.
    expect(buffered).toBe('');
    expect(lines.every((l) => JSON.parse(l).jsonrpc === '2.0')).toBe(true);
    expect(gatehouse.stdout()).not.toContain('NOISY-STDOUT');
    expect(gatehouse.stderr()).toContain('NOISY-STDOUT');
  });
});

describe('over HTTP', () => {
  let gatehouse: HttpGatehouse;
  beforeAll(async () => {
    gatehouse = await startHttpGatehouse(config);
  });
  afterAll(async () => {
    await gatehouse?.stop();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(gatehouse.mcpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body,
    });

  it('answers an invalid body with 400 and a JSON-RPC error, and keeps serving', async () => {
    const garbage = await post('{ not json');
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });

    const notInitialize = await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
    expect(notInitialize.status).toBe(400);
    expect(await notInitialize.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });

    const transport = new StreamableHTTPClientTransport(new URL(gatehouse.mcpUrl));
    const client = await connectTestClient(transport);
    try {
      const inSession = await post('[{"jsonrpc": "2.0",', {
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      });
      expect(inSession.status).toBe(400);
      expect(await inSession.json()).toMatchObject({ error: { code: -32700 } });

      const wrongShape = await post(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 7 }), {
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      });
      expect(wrongShape.status).toBe(400);
      // Valid JSON that is not a JSON-RPC message is JSON-RPC 2.0's Invalid Request, not a parse error.
      expect(await wrongShape.json()).toMatchObject({
        jsonrpc: '2.0',
        error: { code: -32600, message: 'Invalid Request: not a JSON-RPC message' },
      });

      const emptyBatch = await post('[]', {
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
      });
      expect(emptyBatch.status).toBe(400);
      expect(await emptyBatch.json()).toMatchObject({ error: { code: -32600 } });

      expect(await client.client.callTool({ name: 'noisy__echo', arguments: { message: 'fine' } })).toEqual({
        content: [{ type: 'text', text: 'fine' }],
      });
    } finally {
      await client.close();
    }
  });
});
