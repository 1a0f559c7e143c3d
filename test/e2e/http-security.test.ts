import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';

/** DNS-rebinding protection: a page on another origin, or a name that resolves to us, is refused. */

const scratch = scratchDir('http-security');
let gatehouse: HttpGatehouse;
let port: string;
beforeAll(async () => {
  const config = gatehouseConfig({}, { http: { port: 0, allowedOrigins: ['https://console.example.com'] } });
  gatehouse = await startHttpGatehouse(scratch.write('config.json', config));
  port = new URL(gatehouse.baseUrl).port;
});
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

/** A raw request: fetch will not send a Host header of our choosing. */
function send(path: string, headers: Record<string, string>, method = 'GET', body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${gatehouse.baseUrl}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'page', version: '0' } },
});
const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('Host and Origin checks', () => {
  // Tables are built before beforeAll has the port: each row is a function of it.
  it.each([
    ['a foreign Host', (p: string) => ({ host: `evil.example:${p}` })],
    ['a rebinding name on our port', (p: string) => ({ host: `attacker.localtest.me:${p}` })],
    ['our host on another port', () => ({ host: '127.0.0.1:1' })],
    ['a foreign Origin', (p: string) => ({ host: `127.0.0.1:${p}`, origin: 'http://evil.example' })],
    ['a null Origin', (p: string) => ({ host: `127.0.0.1:${p}`, origin: 'null' })],
  ])('%s gets 403, on /mcp and on /status', async (_what, headers) => {
    const mcp = await send('/mcp', { ...MCP_HEADERS, ...headers(port) }, 'POST', INITIALIZE);
    expect(mcp.status).toBe(403);
    expect(JSON.parse(mcp.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    expect((await send('/status', headers(port))).status).toBe(403);
  });

  it.each([
    ['our own Host', (p: string) => ({ host: `127.0.0.1:${p}` })],
    ['localhost', (p: string) => ({ host: `localhost:${p}` })],
    [
      'a configured Origin',
      (p: string) => ({ host: `127.0.0.1:${p}`, origin: 'https://console.example.com' }),
    ],
  ])('%s is served', async (_what, headers) => {
    expect((await send('/healthz', headers(port))).status).toBe(200);
    const mcp = await send('/mcp', { ...MCP_HEADERS, ...headers(port) }, 'POST', INITIALIZE);
    expect(mcp.status).toBe(200);
  });
});
