import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultText as text } from '../helpers/compare.js';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import {
  fetchStatus,
  startConnectedHttpGatehouse,
  statusCommand,
  type ConnectedHttpGatehouse,
} from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';

/**
 * Downstreams that misbehave: one crashes mid-call, one hangs, two never start. Gatehouse answers each
 * failure clearly, recovers what can recover, and keeps serving the rest.
 */

const CALL_TIMEOUT_MS = 1_500;
const scratch = scratchDir('failures');
let gatehouse: ConnectedHttpGatehouse;

beforeAll(async () => {
  const config = scratch.write(
    'config.json',
    gatehouseConfig(
      {
        crashy: fixtureServer('crashy'),
        hang: fixtureServer('hang'),
        missing: { command: '/nonexistent/bin/mcp-server-missing' },
        quitter: { command: process.execPath, args: ['-e', 'process.exit(3)'] },
      },
      { timeouts: { callMs: CALL_TIMEOUT_MS, connectMs: 10_000 } },
    ),
  );
  gatehouse = await startConnectedHttpGatehouse(config);
});
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

const echo = (server: string, message: string) =>
  gatehouse.client.client.callTool({ name: `${server}__echo`, arguments: { message } });

const status = () => fetchStatus(gatehouse.baseUrl);

describe('a server that crashes mid-call', () => {
  it('fails the in-flight call clearly, is restarted, the client hears list_changed, and the next call works', async () => {
    const before = (await status()).servers.find((s) => s.name === 'crashy')!;
    expect(before.state).toBe('ready');
    const fresh = gatehouse.client.fromNow();

    const result = await gatehouse.client.client.callTool({ name: 'crashy__crash', arguments: {} });
    // The crash's own error, not the timeout's: the call did not wait for its bound.
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/server "crashy" closed the connection while tools\/call was in flight/);

    await gatehouse.client.waitForNotification('notifications/tools/list_changed', fresh);
    await eventually(
      async () => (await gatehouse.client.client.listTools()).tools.some((t) => t.name === 'crashy__echo'),
      'crashy is listed again',
    );
    const after = (await status()).servers.find((s) => s.name === 'crashy')!;
    expect(after).toMatchObject({ state: 'ready', restarts: before.restarts + 1 });
    expect(after.pid).not.toBe(before.pid);
    expect(await echo('crashy', 'back again')).toEqual({ content: [{ type: 'text', text: 'back again' }] });
  });
});

describe('a call that hangs', () => {
  it('fails with a clear error at the configured timeout, cancels downstream, and Gatehouse keeps serving', async () => {
    const started = Date.now();
    const result = await gatehouse.client.client.callTool({ name: 'hang__hang', arguments: {} });
    // A timer never fires early; how late it may fire on a loaded machine is not this test's business.
    expect(Date.now() - started).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 50);
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(`server "hang" did not answer tools/call within ${CALL_TIMEOUT_MS} ms`);

    await eventually(
      async () =>
        text(await gatehouse.client.client.callTool({ name: 'hang__cancellations', arguments: {} })) === '1',
      'the hanging server saw the cancellation',
    );
    expect(await echo('hang', 'still serving')).toEqual({
      content: [{ type: 'text', text: 'still serving' }],
    });
  });

  it('a call the client aborts is cancelled downstream', async () => {
    const controller = new AbortController();
    const call = gatehouse.client.client.callTool({ name: 'hang__hang', arguments: {} }, undefined, {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort('changed my mind'), 200);
    await expect(call).rejects.toThrow(/changed my mind/);
    await eventually(
      async () =>
        text(await gatehouse.client.client.callTool({ name: 'hang__cancellations', arguments: {} })) === '2',
      'the hanging server saw the second cancellation',
    );
  });
});

describe('servers that never start', () => {
  it('leaves their tools out and serves the others', async () => {
    const names = (await gatehouse.client.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('hang__echo');
    expect(names.filter((n) => n.startsWith('missing__') || n.startsWith('quitter__'))).toEqual([]);
    const result = await gatehouse.client.client
      .callTool({ name: 'missing__anything', arguments: {} })
      .catch((e: Error) => e);
    expect(String(result)).toContain('Tool missing__anything not found');
  });

  it('`gatehouse status` shows each failure with its reason', async () => {
    const { code, lines: rows } = await statusCommand(gatehouse.baseUrl);
    expect(code).toBe(1);
    const row = (name: string) => rows.find((r) => r.startsWith(name)) ?? '';
    expect(row('missing')).toMatch(/failed\s.*command not found: \/nonexistent\/bin\/mcp-server-missing/);
    expect(row('quitter')).toMatch(/failed\s.*closed the connection during initialization/);
    expect(row('hang')).toMatch(/ready\s+3\s/);
    expect(row('crashy')).toMatch(/ready/);
  });
});
