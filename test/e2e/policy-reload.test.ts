import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseConfig, recorderServer, scratchDir } from '../helpers/config.js';
import { expectDenied } from '../helpers/decisions.js';
import {
  fetchStatus,
  loggedEntry,
  runGatehouseCli,
  startConnectedHttpGatehouse,
  statusCommand,
  type ConnectedHttpGatehouse,
} from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';

/**
 * Policy files at start-up and at run time: an invalid set refuses the start; a valid change takes
 * effect for the next call and tells clients to re-read tools/list; an invalid change keeps the last
 * good set, is logged and shows in `gatehouse status`.
 */

const scratch = scratchDir('policy-reload');
afterAll(() => scratch.remove());

const echoRule = (effect: 'allow' | 'deny', when?: string) => `
rules:
  - id: echo-${effect}
    match: { servers: rec, tools: echo }${when ? `\n    when: ${when}` : ''}
    effect: ${effect}
    reason: echoes are ${effect === 'deny' ? 'switched off' : 'fine'}
`;

/** An unknown variable in `when`: the load fails on line 5, column 11. */
const INVALID = echoRule('allow', 'argz.message == "x"');

it('start-up with an invalid policy folder exits 2 with file:line:col and a caret, no stack trace', async () => {
  const file = scratch.write('invalid/echo.yaml', INVALID);
  const config = scratch.write(
    'invalid.json',
    gatehouseConfig(
      { rec: recorderServer(path.join(scratch.dir, 'never.jsonl')).server },
      {
        policies: path.dirname(file),
      },
    ),
  );
  const { code, stdout, stderr } = await runGatehouseCli(['serve', '--config', config]);
  expect(code).toBe(2);
  expect(stdout).toBe('');
  expect(stderr).toContain(`${file}:5:11: rule echo-allow:`);
  expect(stderr).toContain('argz');
  expect(stderr).toContain(['    5 |     when: argz.message == "x"', '      |           ^'].join('\n'));
  expect(stderr).not.toContain('    at ');
});

describe('a policy file changed while Gatehouse runs', () => {
  const recorder = recorderServer(path.join(scratch.dir, 'calls.jsonl'));
  const policyFile = scratch.write('policies/echo.yaml', echoRule('allow'));
  let gatehouse: ConnectedHttpGatehouse;

  beforeAll(async () => {
    const config = scratch.write(
      'config.json',
      gatehouseConfig({ rec: recorder.server }, { policies: path.dirname(policyFile) }),
    );
    gatehouse = await startConnectedHttpGatehouse(config);
  });
  afterAll(async () => {
    await gatehouse?.stop();
  });

  const echo = (message: string) =>
    gatehouse.client.client.callTool({
      name: 'rec__echo',
      arguments: { message },
    }) as Promise<CallToolResult>;
  const policyStatus = async () => (await fetchStatus(gatehouse.baseUrl)).policy;

  /** Rewrites the policy file and waits until Gatehouse has told the client its tools changed. */
  async function rewrite(text: string) {
    const fresh = gatehouse.client.fromNow();
    scratch.write('policies/echo.yaml', text);
    await gatehouse.client.waitForNotification('notifications/tools/list_changed', fresh);
  }

  it('a valid change decides the next call, sends tools/list_changed and bumps the version', async () => {
    expect(await echo('before')).toEqual({ content: [{ type: 'text', text: 'before' }] });
    const before = await policyStatus();

    await rewrite(echoRule('deny'));

    const after = await policyStatus();
    expect(after.version).not.toBe(before.version);
    const meta = expectDenied(await echo('after'), 'echo-deny', 'echoes are switched off');
    expect(meta.policyVersion).toBe(after.version);
    expect(recorder.received().map((c) => c.arguments.message)).toEqual(['before']);
    // Denied whatever the arguments: hidden now.
    expect((await gatehouse.client.client.listTools()).tools.map((t) => t.name)).not.toContain('rec__echo');
  });

  it('an invalid change keeps the last good set, is logged, and shows in `gatehouse status`', async () => {
    const good = await policyStatus();
    scratch.write('policies/echo.yaml', INVALID);
    await eventually(async () => (await policyStatus()).lastError !== undefined, 'the failed reload shows');

    const kept = await policyStatus();
    expect(kept.version).toBe(good.version);
    expect(kept.lastError).toContain(`${policyFile}:5:11`);
    expectDenied(await echo('still denied'), 'echo-deny');

    const failed = await loggedEntry(
      gatehouse.stderr,
      (e) => e.msg === 'policy reload failed; keeping the last good set',
      'the failed reload is logged',
    );
    expect(failed).toEqual(
      expect.objectContaining({ level: 50, error: expect.stringContaining(`${policyFile}:5:11`) }),
    );

    const { code, lines } = await statusCommand(gatehouse.baseUrl);
    expect(code).toBe(1);
    expect(lines).toContainEqual(expect.stringMatching(/^Policy .*the last reload FAILED/));
    const problemLines = lines.slice(lines.indexOf('Problems:') + 1).filter(Boolean);
    // A multi-line problem (location, source line, caret) stays inside its list item.
    expect(problemLines.filter((l) => !l.startsWith('  '))).toEqual([]);
    const problems = problemLines.join('\n');
    expect(problems).toContain('policy reload failed; the last good set is in use');
    expect(problems).toContain(`${policyFile}:5:11: rule echo-allow:`);
  });

  it('the next valid change clears the problem', async () => {
    await rewrite(echoRule('allow'));
    expect((await policyStatus()).lastError).toBeUndefined();
    expect(await echo('again')).toEqual({ content: [{ type: 'text', text: 'again' }] });
    expect((await statusCommand(gatehouse.baseUrl)).code).toBe(0);
  });
});
