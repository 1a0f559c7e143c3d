import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { CreateTaskResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import type { ConnectionStatus } from '../../src/downstream/connection.js';
import type { GatehouseStatus } from '../../src/main.js';
import type { TestClient } from '../helpers/client.js';
import { everythingStdio, fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { connectHttpAs } from '../helpers/embedded.js';
import { approvalSetUp, TOKENS } from '../helpers/gated.js';
import {
  connectHttp,
  connectStdioGatehouse,
  gatehouseArgs,
  startHttpGatehouse,
} from '../helpers/gatehouse.js';
import { auditEvents } from '../helpers/audit.js';
import { eventually, isAlive, spawnProcess } from '../helpers/processes.js';

/**
 * Stopping Gatehouse ends every downstream process group (children and their children) and releases
 * the store's lock, on every front, whatever the clients are still doing.
 */

const scratch = scratchDir('shutdown');
afterAll(() => scratch.remove());

const config = () =>
  scratch.write(
    'config.json',
    gatehouseConfig({ forks: fixtureServer('forks'), everything: everythingStdio() }),
  );

async function forkPids(client: TestClient): Promise<number[]> {
  const result = (await client.client.callTool({ name: 'forks__pids', arguments: {} })) as CallToolResult;
  const { pid, grandchild } = JSON.parse((result.content[0] as { text: string }).text) as Record<
    string,
    number
  >;
  return [pid!, grandchild!];
}

it('SIGTERM to an HTTP Gatehouse ends its children and grandchildren', async () => {
  const gatehouse = await startHttpGatehouse(config());
  const client = await connectHttp(gatehouse.mcpUrl);
  const status = (await (await fetch(`${gatehouse.baseUrl}/status`)).json()) as {
    servers: ConnectionStatus[];
  };
  const pids = [...status.servers.map((s) => s.pid!), ...(await forkPids(client))];
  expect(pids).toHaveLength(4);
  expect(pids.every(isAlive)).toBe(true);

  await client.close();
  expect(await gatehouse.stop('SIGTERM')).toBe(0);
  await eventually(() => !pids.some(isAlive), `pids ${pids.join(', ')} are gone`, 5_000);
});

it('a stdio Gatehouse whose client goes away ends its children and grandchildren', async () => {
  const gatehouse = await connectStdioGatehouse(config());
  const pids = [gatehouse.transport.pid!, ...(await forkPids(gatehouse.client))];
  expect(pids.every(isAlive)).toBe(true);

  await gatehouse.client.close();
  await eventually(() => !pids.some(isAlive), `pids ${pids.join(', ')} are gone`, 5_000);
});

/** Whether a Gatehouse let go of its store: the lock file is gone. */
const lockReleased = (store: string) => !existsSync(`${store}.lock`);

/** The downstream children's pids, from /status (with a caller's token where callers authenticate). */
async function serverPids(baseUrl: string, token?: string): Promise<number[]> {
  const response = await fetch(`${baseUrl}/status`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const status = (await response.json()) as GatehouseStatus;
  return status.servers.flatMap((s) => (s.pid === undefined ? [] : [s.pid]));
}

it('SIGTERM stops an HTTP Gatehouse while a client follows a gated call as an MCP task', async () => {
  const setUp = approvalSetUp(scratch, 'task');
  const gatehouse = await startHttpGatehouse(setUp.config);
  const client = await connectHttpAs(gatehouse.mcpUrl, { token: TOKENS.alice, tasks: true });
  try {
    const pids = await serverPids(gatehouse.baseUrl, TOKENS.alice);
    expect(pids).toHaveLength(3);
    // The approval's own lifetime as the task's ttl: the task store must not hold the process that long.
    const { task } = await client.client.request(
      {
        method: 'tools/call',
        params: { name: 'rec__deploy', arguments: { build: 'held' }, task: { ttl: 600_000 } },
      },
      CreateTaskResultSchema,
    );
    expect(task.status).toBe('input_required');

    expect(await gatehouse.stop('SIGTERM')).toBe(0);
    expect(lockReleased(setUp.store)).toBe(true);
    await eventually(() => !pids.some(isAlive), `pids ${pids.join(', ')} are gone`, 5_000);
  } finally {
    await client.close().catch(() => undefined);
    await gatehouse.stop('SIGKILL');
  }
});

it.each(['SIGTERM', 'SIGINT'] as const)(
  '%s stops a stdio Gatehouse whose client keeps its stdin open',
  async (signal) => {
    const store = path.join(scratch.dir, `stdio-${signal}-store.json`);
    const file = scratch.write(
      `stdio-${signal}.json`,
      gatehouseConfig({ forks: fixtureServer('forks') }, { approvals: { store } }),
    );
    // A supervisor's child: stdin is a pipe nobody closes.
    const gatehouse = spawnProcess(process.execPath, gatehouseArgs('serve', '--config', file));
    try {
      const ready = await gatehouse.waitForStderr((l) => l.includes('Gatehouse ready on stdio'));
      const { statusUrl } = JSON.parse(ready) as { statusUrl: string };
      const pids = await serverPids(statusUrl.replace(/\/status$/, ''));
      expect(pids).toHaveLength(1);
      expect(lockReleased(store)).toBe(false);

      expect(await gatehouse.stop(signal)).toBe(0);
      expect(lockReleased(store)).toBe(true);
      await eventually(() => !pids.some(isAlive), `pids ${pids.join(', ')} are gone`, 5_000);
    } finally {
      await gatehouse.stop('SIGKILL');
    }
  },
);

/** Pids of live processes whose command line holds `marker`. */
function pidsWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(isAlive);
}

it.skipIf(process.platform !== 'linux')(
  'SIGTERM during start-up stops Gatehouse once started, ending the children it started',
  async () => {
    const store = path.join(scratch.dir, 'starting-store.json');
    const marker = `gatehouse-slow-start-${process.pid}`;
    // A server that never answers initialize: start-up waits timeouts.connectMs for it.
    const silent = { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', marker] };
    const file = scratch.write(
      'starting.json',
      gatehouseConfig({ silent }, { approvals: { store }, timeouts: { connectMs: 3_000 } }),
    );
    const gatehouse = spawnProcess(
      process.execPath,
      gatehouseArgs('serve', '--http', '--port', '0', '--config', file),
    );
    try {
      await eventually(() => pidsWith(marker).length === 1, 'the silent server has started');
      expect(await gatehouse.stop('SIGTERM')).toBe(0);
      expect(lockReleased(store)).toBe(true);
      await eventually(() => pidsWith(marker).length === 0, 'the silent server is gone', 5_000);
    } finally {
      await gatehouse.stop('SIGKILL');
      for (const pid of pidsWith(marker)) process.kill(pid, 'SIGKILL');
    }
  },
);

it('SIGHUP with a log file reopens it (logrotate moved the old one) and keeps serving', async () => {
  const logFile = path.join(scratch.dir, 'hup', 'gatehouse.log');
  const configFile = scratch.write(
    'hup.json',
    gatehouseConfig({ everything: everythingStdio() }, { log: { level: 'info', file: logFile } }),
  );
  const gatehouse = spawnProcess(
    process.execPath,
    gatehouseArgs('serve', '--http', '--port', '0', '--config', configFile),
    process.env,
  );
  try {
    const readyLine = () =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .find((l) => l.includes('"msg":"Gatehouse ready'))
        : undefined;
    await eventually(() => readyLine() !== undefined, 'the ready line is in the log file', 30_000);
    const base = (JSON.parse(readyLine()!) as { url: string }).url.replace(/\/mcp$/, '');

    renameSync(logFile, `${logFile}.1`);
    gatehouse.child.kill('SIGHUP');
    await eventually(
      () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('"msg":"log file reopened"'),
      'a new log file begins with the reopening',
    );
    expect(readFileSync(`${logFile}.1`, 'utf8')).toContain('"msg":"Gatehouse ready');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await gatehouse.stop('SIGTERM')).toBe(0);
    // The stop is logged in the new file, not the moved one.
    expect(readFileSync(logFile, 'utf8')).toContain('"msg":"stopping on signal"');
  } finally {
    await gatehouse.stop();
  }
});

it('SIGHUP without a log file (the terminal went away) stops Gatehouse as SIGTERM does, exit 0', async () => {
  const gatehouse = await startHttpGatehouse(config());
  expect(await gatehouse.stop('SIGHUP')).toBe(0);
  expect(gatehouse.stderr()).toContain('"signal":"SIGHUP"');
});

it('a fault nothing caught stops Gatehouse as SIGTERM does, exit 1: the calls the audit trail held are kept', async () => {
  const auditDir = path.join(scratch.dir, 'fault-audit');
  const configFile = scratch.write(
    'fault.json',
    gatehouseConfig(
      { everything: everythingStdio() },
      { audit: { dir: auditDir, keyFile: `${auditDir}.key`, groupCommit: { queuedMaxDelayMs: 60_000 } } },
    ),
  );
  const fault = path.resolve('test/fixtures/fault-on-signal.mjs');
  const gatehouse = await startHttpGatehouse(configFile, { NODE_OPTIONS: `--import ${fault}` });
  const client = await connectHttp(gatehouse.mcpUrl);
  const result = (await client.client.callTool({
    name: 'everything__echo',
    arguments: { message: 'before the fault' },
  })) as CallToolResult;
  expect(result.isError).toBeFalsy();
  // The call's records wait for a commit a minute away: only the stop can write them now.
  gatehouse.child.kill('SIGUSR2');
  expect(await gatehouse.exited).toBe(1);
  expect(gatehouse.stderr()).toContain('"msg":"Gatehouse failed: stopping"');
  expect(gatehouse.stderr()).toContain('a fault injected by the test');
  const events = await auditEvents(auditDir);
  expect(events.filter((e) => e.event.startsWith('call.')).map((e) => e.event)).toEqual([
    'call.decided',
    'call.executing',
    'call.executed',
  ]);
  expect(events.at(-1)).toMatchObject({ event: 'gatehouse.stopped', reason: 'a fault in Gatehouse' });
  await client.close().catch(() => undefined);
});
