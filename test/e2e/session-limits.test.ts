import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import {
  connectHttp,
  fetchStatus,
  startHttpGatehouse,
  statusCommand,
  type HttpGatehouse,
} from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';

/**
 * HTTP MCP sessions are bounded: a session with nothing open expires after sessions.idleTimeoutMs and
 * everything it held goes with it; a caller holds at most sessions.maxPerCaller.
 */

const scratch = scratchDir('session-limits');
afterAll(() => scratch.remove());

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': LATEST_PROTOCOL_VERSION,
};

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: {
    protocolVersion: LATEST_PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'raw', version: '0' },
  },
};

/** A raw client's session: one initialize, then abandoned unless the test uses it. */
async function openSession(gatehouse: HttpGatehouse): Promise<string> {
  const response = await post(gatehouse, undefined, INITIALIZE);
  expect(response.status).toBe(200);
  await response.body?.cancel();
  return response.headers.get('mcp-session-id')!;
}

const post = (gatehouse: HttpGatehouse, session: string | undefined, message: object) =>
  fetch(gatehouse.mcpUrl, {
    method: 'POST',
    headers: { ...HEADERS, ...(session ? { 'mcp-session-id': session } : {}) },
    body: JSON.stringify(message),
  });

/** The session's GET stream, held open until aborted: the session is busy meanwhile. */
async function holdStream(gatehouse: HttpGatehouse, session: string, abort: AbortController) {
  const response = await fetch(gatehouse.mcpUrl, {
    headers: { ...HEADERS, accept: 'text/event-stream', 'mcp-session-id': session },
    signal: abort.signal,
  });
  expect(response.status).toBe(200);
}

const ping = async (gatehouse: HttpGatehouse, session: string) => {
  const response = await post(gatehouse, session, { jsonrpc: '2.0', id: 1, method: 'ping' });
  await response.body?.cancel();
  return response.status;
};

describe('idle expiry', () => {
  it('frees every abandoned session, with its tasks, and keeps the one whose stream is open', async () => {
    const config = scratch.write(
      'expiry.json',
      gatehouseConfig(
        { hang: fixtureServer('hang') },
        { sessions: { idleTimeoutMs: 1_000, maxPerCaller: 1_000 } },
      ),
    );
    const gatehouse = await startHttpGatehouse(config);
    const client = await connectHttp(gatehouse.mcpUrl);
    try {
      const abandoned = 150;
      const sessions: string[] = [];
      for (let i = 0; i < abandoned; i++) sessions.push(await openSession(gatehouse));
      // The last one leaves a task behind, with a ttl far beyond the session's life, and holds its
      // stream open (keeping it from expiring) until the count below is taken.
      const last = sessions.at(-1)!;
      const response = await post(gatehouse, last, {
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'hang__echo', arguments: { message: 'hi' }, task: { ttl: 3_600_000 } },
      });
      expect(await response.json()).toMatchObject({ result: { task: { status: 'working' } } });
      const stream = new AbortController();
      await holdStream(gatehouse, last, stream);
      const before = await fetchStatus(gatehouse.baseUrl);
      expect(before.sessions.tasks).toBe(1);
      expect(before.sessions.open).toBeGreaterThanOrEqual(2);
      stream.abort();

      await eventually(
        async () => (await fetchStatus(gatehouse.baseUrl)).sessions.expired === abandoned,
        'every abandoned session has expired',
        30_000,
      );
      const after = await fetchStatus(gatehouse.baseUrl);
      // What is left is the SDK client's session, busy with its GET stream.
      expect(after.sessions).toMatchObject({ open: 1, tasks: 0, expired: abandoned });
      expect(Object.values(after.sessions.byCaller)).toEqual([1]);
      const { lines } = await statusCommand(gatehouse.baseUrl);
      expect(lines).toContainEqual(
        `Sessions: 1 open with 0 MCP task(s); since start ${abandoned} expired idle, ` +
          '0 closed and 0 refused at the per-caller cap; 0 upload(s) aborted by their client',
      );
      expect(
        await client.client.callTool({ name: 'hang__echo', arguments: { message: 'still here' } }),
      ).toEqual({
        content: [{ type: 'text', text: 'still here' }],
      });
    } finally {
      await client.close();
      await gatehouse.stop();
    }
  });
});

describe('the per-caller cap', () => {
  it('closes the caller’s longest-idle session to make room, and refuses when none is idle', async () => {
    const config = scratch.write(
      'cap.json',
      gatehouseConfig({ hang: fixtureServer('hang') }, { sessions: { maxPerCaller: 2 } }),
    );
    const gatehouse = await startHttpGatehouse(config);
    const streams = new AbortController();
    try {
      const oldest = await openSession(gatehouse);
      const second = await openSession(gatehouse);
      expect(await ping(gatehouse, second)).toBe(200);
      const third = await openSession(gatehouse);
      // The oldest was idle longest: closed as by a DELETE, it is unknown now.
      expect(await ping(gatehouse, oldest)).toBe(404);
      expect(await ping(gatehouse, second)).toBe(200);
      expect(await ping(gatehouse, third)).toBe(200);

      // Both sessions busy with their streams: a new one is refused, naming the limit.
      await holdStream(gatehouse, second, streams);
      await holdStream(gatehouse, third, streams);
      const refused = await post(gatehouse, undefined, INITIALIZE);
      expect(refused.status).toBe(429);
      const body = (await refused.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(-32000);
      expect(body.error.message).toContain('sessions.maxPerCaller is 2');

      const status = await fetchStatus(gatehouse.baseUrl);
      expect(status.sessions).toMatchObject({ open: 2, closedAtCap: 1, refusedAtCap: 1, expired: 0 });
    } finally {
      streams.abort();
      await gatehouse.stop();
    }
  });
});
