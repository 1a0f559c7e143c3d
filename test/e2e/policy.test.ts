import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import { resultText } from '../helpers/compare.js';
import {
  everythingStdio,
  gatehouseConfig,
  recorderServer,
  scratchDir,
  type RecordedCall,
} from '../helpers/config.js';
import { expectDenied, expectHeldForApproval } from '../helpers/decisions.js';
import { connectDirect } from '../helpers/downstreams.js';
import {
  connectStdioGatehouse,
  fetchStatus,
  loggedEntry,
  startConnectedHttpGatehouse,
  type ConnectedHttpGatehouse,
  type StdioGatehouse,
} from '../helpers/gatehouse.js';

/**
 * Policy decisions through the proxy, with real downstreams: the recorder fixture (which logs every
 * tools/call it receives, so "never sent downstream" is checked, not assumed) and server-everything.
 * One Gatehouse enforces the policy set below, another runs the same set in shadow mode.
 */

const scratch = scratchDir('policy');

const policySet = (mode: 'enforce' | 'shadow') => `
default: deny
mode: ${mode}
rules:
  - id: harmless
    description: Echoes and sums are harmless.
    match: { servers: [rec, everything], tools: [echo, get-sum] }
    effect: allow

  - id: remove-files
    match: { servers: rec, tools: remove }
    effect: allow

  - id: no-system-files
    match: { servers: rec, tools: remove }
    when: isUnder(args.path, "/etc")
    effect: deny
    reason: system files are off limits

  - id: no-wipe
    match: { servers: rec, tools: wipe }
    effect: deny
    reason: wiping every file is never done through an agent

  - id: deploy-approval
    match: { servers: rec, tools: deploy }
    effect: approve
    reason: production deploys need a second pair of eyes
    approvers: [group:release-managers]
    ttl: 30m
`;

const APPROVAL_NOTE = 'Calls may require human approval.';

/** A Gatehouse on `mode`'s policy set, with its own recorder in front of its own log file. */
function setUp(mode: 'enforce' | 'shadow') {
  const recorder = recorderServer(path.join(scratch.dir, `${mode}-calls.jsonl`));
  scratch.write(`${mode}/policies.yaml`, policySet(mode));
  const config = scratch.write(
    `${mode}.json`,
    gatehouseConfig(
      { rec: recorder.server, everything: everythingStdio() },
      { policies: path.join(scratch.dir, mode) },
    ),
  );
  return { recorder, config };
}

afterAll(() => scratch.remove());

describe('enforce mode', () => {
  const { recorder, config } = setUp('enforce');
  let gatehouse: ConnectedHttpGatehouse;
  let direct: TestClient;

  beforeAll(async () => {
    [gatehouse, direct] = await Promise.all([
      startConnectedHttpGatehouse(config),
      connectDirect(everythingStdio()),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([gatehouse?.stop(), direct?.close()]);
  });

  const call = (name: string, args: Record<string, unknown> = {}) =>
    gatehouse.client.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;

  /**
   * What the recorder has received, once a fresh allowed call has reached it: the recorder writes
   * before it answers, and every call the test sent earlier was answered first, so the log is complete.
   */
  async function receivedSoFar(): Promise<RecordedCall[]> {
    const marker = randomUUID();
    expect(resultText(await call('rec__echo', { message: marker }))).toBe(marker);
    const received = recorder.received();
    expect(received).toContainEqual({ name: 'echo', arguments: { message: marker } });
    return received;
  }
  const namesReceived = async () => (await receivedSoFar()).map((c) => c.name);

  it('an allowed call runs: the answer equals the direct one', async () => {
    const args = { a: 2, b: 40 };
    const [via, own] = await Promise.all([
      call('everything__get-sum', args),
      direct.client.callTool({ name: 'get-sum', arguments: args }),
    ]);
    expect(via).toEqual(own);
    expect(await call('rec__remove', { path: '/tmp/scratch.txt' })).toEqual({
      content: [{ type: 'text', text: 'removed /tmp/scratch.txt' }],
    });
    expect(recorder.received()).toContainEqual({ name: 'remove', arguments: { path: '/tmp/scratch.txt' } });
  });

  it('a denied call is refused with isError, naming the rule and the reason, and never sent downstream', async () => {
    for (const target of ['/etc/passwd', '/tmp/../etc/shadow']) {
      expectDenied(
        await call('rec__remove', { path: target }),
        'no-system-files',
        'system files are off limits',
      );
    }
    expect((await receivedSoFar()).filter((c) => c.name === 'remove')).toEqual([
      { name: 'remove', arguments: { path: '/tmp/scratch.txt' } },
    ]);
  });

  it("the deny result's _meta carries the rule and the policy version", async () => {
    const { policy } = await fetchStatus(gatehouse.baseUrl);
    const meta = expectDenied(await call('rec__remove', { path: '/etc/hosts' }), 'no-system-files');
    expect(meta).toEqual({ effect: 'deny', rules: ['no-system-files'], policyVersion: policy.version });
    const decided = await loggedEntry(
      gatehouse.stderr,
      (e) => e.msg === 'tool call decided' && e.tool === 'remove' && e.effect === 'deny',
      'the deny is logged',
    );
    expect(decided).toEqual(
      expect.objectContaining({ mode: 'enforce', rules: ['no-system-files'], policyVersion: policy.version }),
    );
  });

  it('tools/list hides a tool denied whatever the arguments and marks one that may need approval', async () => {
    const { tools } = await gatehouse.client.client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.has('rec__wipe')).toBe(false);
    // No rule allows get-env, and the default is deny.
    expect(byName.has('everything__get-env')).toBe(false);
    // Denied only for some arguments: listed as it is.
    expect(byName.get('rec__remove')?.description).toBe('removes a file (pretends to)');
    expect(byName.get('rec__deploy')?.description).toBe(
      `deploys a build to production (pretends to)\n\n${APPROVAL_NOTE}`,
    );
    const sum = (await direct.client.listTools()).tools.find((t) => t.name === 'get-sum')!;
    expect(byName.get('everything__get-sum')).toEqual({ ...sum, name: 'everything__get-sum' });
  });

  it('a hidden tool called by name is still decided on its own, and denied', async () => {
    expectDenied(await call('rec__wipe'), 'no-wipe', 'wiping every file is never done through an agent');
    expect(await namesReceived()).not.toContain('wipe');
  });

  it('a tool no rule allows is refused by the default', async () => {
    expectDenied(await call('everything__get-env'), undefined);
  });

  it('an approve effect holds the call for approval: it does not run, not even when retried', async () => {
    const expected = {
      reason: 'production deploys need a second pair of eyes',
      approvers: ['group:release-managers'],
      quorum: 1,
    };
    const first = expectHeldForApproval(
      await call('rec__deploy', { build: 'v1.2.3' }),
      'deploy-approval',
      expected,
    );
    const retry = expectHeldForApproval(
      await call('rec__deploy', { build: 'v1.2.3' }),
      'deploy-approval',
      expected,
    );
    expect(retry.approvalId).toBe(first.approvalId);
    expect(await namesReceived()).not.toContain('deploy');
  });
});

describe('shadow mode', () => {
  const { recorder, config } = setUp('shadow');
  let gatehouse: StdioGatehouse;

  beforeAll(async () => {
    gatehouse = await connectStdioGatehouse(config);
  });
  afterAll(async () => {
    await gatehouse?.client.close();
  });

  /** Waits for the log line of the decision on `tool`, which may trail the result on stderr. */
  async function decisionLogged(tool: string) {
    return loggedEntry(
      gatehouse.stderr,
      (e) => e.msg === 'tool call decided' && e.tool === tool,
      `the decision on ${tool} is logged`,
    );
  }

  it('every tool is listed: shadow mode does not change what clients see', async () => {
    const names = (await gatehouse.client.client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['rec__wipe', 'rec__remove', 'rec__deploy', 'everything__get-env']),
    );
  });

  it('a call enforcement would deny runs, and the log records the deny it would have been', async () => {
    const result = await gatehouse.client.client.callTool({
      name: 'rec__remove',
      arguments: { path: '/etc/passwd' },
    });
    expect(result).toEqual({ content: [{ type: 'text', text: 'removed /etc/passwd' }] });
    expect(recorder.received()).toContainEqual({ name: 'remove', arguments: { path: '/etc/passwd' } });
    expect(await decisionLogged('remove')).toMatchObject({
      level: 30,
      mode: 'shadow',
      effect: 'deny',
      rules: ['no-system-files'],
      server: 'rec',
    });
  });

  it('a call that would need approval runs, and the log says so', async () => {
    const result = await gatehouse.client.client.callTool({
      name: 'rec__deploy',
      arguments: { build: 'v2' },
    });
    expect(result).toEqual({ content: [{ type: 'text', text: 'deployed v2' }] });
    expect(await decisionLogged('deploy')).toMatchObject({
      mode: 'shadow',
      effect: 'approve',
      rules: ['deploy-approval'],
    });
  });
});
