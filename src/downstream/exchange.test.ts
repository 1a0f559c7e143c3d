import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../../test/helpers/processes.js';
import { exchange } from './exchange.js';

const dispatcher = new Agent({ keepAliveTimeout: 5_000 });
const servers: ReturnType<typeof createServer>[] = [];
afterAll(async () => {
  await dispatcher.close();
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const get = (origin: string, path = '/') =>
  exchange(dispatcher, { origin, path, method: 'GET', headersTimeout: 0, bodyTimeout: 0 });

describe('exchange', () => {
  it('finds a header by its lower-case name (the first of repeated ones) and reads the body', async () => {
    const origin = await serve((_req, res) => {
      res.setHeader('Mcp-Session-Id', 'abc');
      res.setHeader('X-Twice', ['one', 'two']);
      res.setHeader('X-Accented', 'caf\u00e9');
      res.end('h\u00e9llo');
    });
    const pending = get(origin);
    const response = await pending.response;
    expect(response.statusCode).toBe(200);
    expect(response.header('mcp-session-id')).toBe('abc');
    expect(response.header('x-twice')).toBe('one');
    // Decoded as undici's own request() decodes it.
    const { headers, body } = await dispatcher.request({ origin, path: '/', method: 'GET' });
    await body.dump();
    expect(response.header('x-accented')).toBe(headers['x-accented']);
    expect(response.header('absent')).toBeUndefined();
    expect(await response.body.text()).toBe('h\u00e9llo');
    expect(pending.over).toBe(true);
  });

  it('keeps chunks that came before anyone read, then hands over the rest as they come', async () => {
    let finish: () => void = () => undefined;
    const origin = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first ');
      finish = () => res.end('last');
    });
    // Node sends the head and the first chunk together: the chunk is in before the response resolves.
    const { body } = await get(origin).response;
    const chunks: string[] = [];
    let ended: Error | undefined | 'not yet' = 'not yet';
    body.read(
      (data) => chunks.push(data.toString()),
      (error) => (ended = error),
    );
    await eventually(() => chunks.join('') === 'first ', 'the early chunk');
    finish();
    await eventually(() => ended !== 'not yet', 'the end');
    expect(chunks.join('')).toBe('first last');
    expect(ended).toBeUndefined();
  });

  it('reads at most the limit of a long body and cuts the rest off', async () => {
    const origin = await serve((_req, res) => {
      res.writeHead(500);
      res.write('x'.repeat(1000));
      // Never ends: only cutting it off settles the read.
    });
    const pending = get(origin);
    const text = await (await pending.response).body.textUpTo(10);
    expect(text).toBe('x'.repeat(10));
    await eventually(() => pending.over, 'the exchange is over');
  });

  it('rejects when aborted before any response, and ends the body with the reason after one', async () => {
    const origin = await serve((req, res) => {
      if (req.url === '/silent') return;
      res.writeHead(200);
      res.write('partial');
    });
    const silent = get(origin, '/silent');
    silent.abort(new Error('closing'));
    await expect(silent.response).rejects.toThrow('closing');
    expect(silent.over).toBe(true);

    const streaming = get(origin, '/stream');
    const { body } = await streaming.response;
    let ended: Error | undefined;
    let aborted = false;
    body.read(
      () => undefined,
      (error) => {
        // Heard after abort() returned, as a stream's 'error' event would be.
        expect(aborted).toBe(true);
        ended = error;
      },
    );
    streaming.abort(new Error('closing too'));
    aborted = true;
    await eventually(() => ended !== undefined, 'the body ended');
    expect(ended?.message).toBe('closing too');
  });

  it('rejects with the network error when nobody listens', async () => {
    const origin = await serve(() => undefined);
    const server = servers.pop()!;
    await new Promise((resolve) => server.close(resolve));
    await expect(get(origin).response).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
