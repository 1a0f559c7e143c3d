import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApprovalState } from '../../src/approvals/request.js';
import { signInLocally, useChromium } from '../helpers/browser.js';
import type { TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/config.js';
import { connectHttpAs } from '../helpers/embedded.js';
import {
  BOB,
  TOKENS,
  approvalSetUp,
  approverApi,
  expectNotRun,
  expectPending,
  passwordOf,
  pendingDeploys,
  receivedSoFar,
} from '../helpers/gated.js';
import {
  gatehouseArgs,
  startHttpGatehouse,
  statusCommand,
  type HttpGatehouse,
} from '../helpers/gatehouse.js';
import { eventually, spawnProcess, type Spawned } from '../helpers/processes.js';

/**
 * A store record that no longer matches its digest, or is no request at all, is quarantined: it never
 * runs and takes no decisions, it shows as quarantined in the API, the page and `status`, and Gatehouse
 * serves everything else. A Gatehouse that cannot start at all exits, non-zero and at once: it stops
 * the downstream servers it had started and releases the store's lock, so a supervisor sees the
 * failure and a restart is not refused.
 */

const scratch = scratchDir('approvals-integrity');
afterAll(() => scratch.remove());

/** Pids of live processes whose command line mentions `text` (a scratch path only our children use). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** `gatehouse serve --http` on `config`; the test must end it (stop) whatever happens. */
const serveHttp = (config: string): Spawned =>
  spawnProcess(process.execPath, gatehouseArgs('serve', '--http', '--port', '0', '--config', config));

/** The exit code, or a failure naming what was still running when the process did not exit. */
async function exitOf(gatehouse: Spawned, children: string): Promise<number | null> {
  let exit: { code: number | null } | undefined;
  void gatehouse.exited.then((code) => (exit = { code }));
  await eventually(
    () => exit !== undefined,
    () =>
      `Gatehouse exits after a failed start (still running, with children ${processesMentioning(children).join(', ') || 'none'}); stderr:\n${gatehouse.stderr()}`,
    20_000,
  );
  return exit!.code;
}

describe('a start that fails after the downstream servers are up', () => {
  it('a malformed approver password hash: exit 2 naming it, no child left running, the store unlocked', async () => {
    const setUp = approvalSetUp(scratch, 'bad-hash', {
      approvers: { accounts: [{ id: 'bob', groups: ['reviewers'], passwordHash: 'not-a-hash' }] },
    });
    // The downstreams' command lines name `<scratch>/bad-hash-…` files; Gatehouse's names bad-hash.json.
    const children = path.join(scratch.dir, 'bad-hash-');
    const gatehouse = serveHttp(setUp.config);
    try {
      // The downstreams were started before the approval page refused the hash.
      await gatehouse.waitForStderr((line) => line.includes('"msg":"downstream connected"'));
      expect(await exitOf(gatehouse, children)).toBe(2);
      expect(gatehouse.stderr()).toContain('approvers.accounts "bob": not a password hash');
      expect(gatehouse.stderr()).not.toMatch(/^\s+at /m);
      await eventually(
        () => processesMentioning(children).length === 0,
        'every downstream server of the failed start has exited',
      );
      expect(existsSync(`${setUp.store}.lock`)).toBe(false);
    } finally {
      await gatehouse.stop('SIGKILL');
    }
  });
});

describe('a store changed while Gatehouse was stopped', () => {
  const setUp = approvalSetUp(scratch, 'tampered');
  const { newPage } = useChromium();
  const deploy = (client: TestClient, build: string) =>
    client.client.callTool({ name: 'rec__deploy', arguments: { build } }) as Promise<CallToolResult>;
  const ids: Record<string, string> = {};
  let gatehouse: HttpGatehouse | undefined;
  afterAll(() => gatehouse?.stop());

  it('three requests are pending when Gatehouse stops', async () => {
    Object.assign(ids, await pendingDeploys(setUp.config, ['tampered', 'corrupt', 'intact']));
  });

  it('someone approves one with other arguments in the file, and breaks another', () => {
    const store = JSON.parse(readFileSync(setUp.store, 'utf8'));
    const record = (build: string) => store.approvals.find((r: { id: string }) => r.id === ids[build]);
    Object.assign(record('tampered'), {
      arguments: { build: 'evil' },
      state: 'approved',
      decisions: [{ approver: BOB, decision: 'approve', at: new Date().toISOString() }],
    });
    const corrupt = record('corrupt');
    for (const key of Object.keys(corrupt)) if (!['id', 'arguments'].includes(key)) delete corrupt[key];
    corrupt.state = 'approved';
    writeFileSync(setUp.store, JSON.stringify(store, null, 2));
  });

  it('the next start serves, with both quarantined in the API and status; they cannot be approved and never run', async () => {
    gatehouse = await startHttpGatehouse(setUp.config);
    const alice = await connectHttpAs(gatehouse.mcpUrl, { token: TOKENS.alice });
    const bob = await approverApi(gatehouse.baseUrl).as(BOB);

    const listed = await bob.list('quarantined' as ApprovalState);
    expect(listed.status).toBe(200);
    expect(listed.json.approvals.map((r: { id: string; state: string }) => [r.id, r.state])).toEqual([
      [ids.tampered, 'quarantined'],
      [ids.corrupt, 'quarantined'],
    ]);
    const tampered = (await bob.get(ids.tampered!)).json.approval;
    expect(tampered).toMatchObject({
      state: 'quarantined',
      problem: { code: 'DIGEST_MISMATCH' },
      record: { arguments: { build: 'evil' }, state: 'approved' },
    });
    expect(tampered.recovery).toContain('delete the entry from "quarantined"');
    expect((await bob.get(ids.corrupt!)).json.approval).toMatchObject({
      state: 'quarantined',
      problem: { code: 'RECORD_INVALID' },
    });
    for (const build of ['tampered', 'corrupt']) {
      const refused = await bob.decide(ids[build]!, 'approve');
      expect(refused.status).toBe(409);
      expect(refused.json.error.code).toBe('APPROVAL_QUARANTINED');
    }

    // Callers authenticate here, so `gatehouse status` sends a caller's token.
    process.env.GATEHOUSE_TOKEN = TOKENS.alice;
    const status = await statusCommand(gatehouse.baseUrl).finally(() => delete process.env.GATEHOUSE_TOKEN);
    expect(status.code).toBe(1);
    const problems = status.lines.join('\n');
    expect(problems).toContain(`approval ${ids.tampered} is quarantined (DIGEST_MISMATCH)`);
    expect(problems).toContain(`approval ${ids.corrupt} is quarantined (RECORD_INVALID)`);

    // Everything else is served: the intact request is approved and runs, allowed calls go through.
    expect((await bob.decide(ids.intact!, 'approve')).json.approval.state).toBe('approved');
    await eventually(
      async () => (await bob.get(ids.intact!)).json.approval.state === 'executed',
      'the intact request ran',
    );
    expectNotRun(
      (await alice.client.callTool({
        name: 'gatehouse__approval_status',
        arguments: { approvalId: ids.tampered },
      })) as CallToolResult,
      'never will',
      'DIGEST_MISMATCH',
    );
    // The requester's identical call is a new request of its own.
    expect(expectPending(await deploy(alice, 'tampered'), 'deploy').approvalId).not.toBe(ids.tampered);
    const deploys = (await receivedSoFar(alice, setUp.recorder)).filter((c) => c.name === 'deploy');
    expect(deploys.map((c) => c.arguments.build)).toEqual(['intact']);
    await alice.close();
  });

  it('the page shows a quarantined record as such, with what to do, and no decision', async () => {
    const page = await newPage();
    await signInLocally(page, gatehouse!.baseUrl, { user: BOB.id, password: passwordOf(BOB) }, '/approvals');
    expect(await page.textContent('[data-testid=quarantined]')).toContain(ids.tampered);
    await page.goto(`${gatehouse!.baseUrl}/approvals/${ids.tampered}`);
    expect(await page.textContent('[data-testid=state]')).toBe('quarantined');
    const banner = await page.textContent('[data-testid=quarantined]');
    expect(banner).toContain('DIGEST_MISMATCH');
    expect(banner).toContain('It never runs and takes no decisions.');
    expect(await page.textContent('[data-testid=arguments]')).toContain('"build": "evil"');
    expect(await page.locator('[data-testid=approve-form]').count()).toBe(0);
  });
});

it('a store file that is not a store at all: exit 1 (a runtime failure, not a config error) at once, naming it, nothing started, no lock left', async () => {
  const setUp = approvalSetUp(scratch, 'garbage');
  writeFileSync(setUp.store, '{"schemaVersion": 3, "approvals": [');
  const gatehouse = serveHttp(setUp.config);
  try {
    expect(await exitOf(gatehouse, path.join(scratch.dir, 'garbage-'))).toBe(1);
    expect(gatehouse.stderr()).toContain(`${setUp.store}: not a Gatehouse store (not JSON`);
    expect(gatehouse.stderr()).not.toContain('downstream connected');
    expect(existsSync(`${setUp.store}.lock`)).toBe(false);
  } finally {
    await gatehouse.stop('SIGKILL');
  }
});
