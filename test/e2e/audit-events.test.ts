import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, EventOf } from '../../src/audit/events.js';
import { auditEvents, storyOf, verifyTrail } from '../helpers/audit.js';
import type { TestClient } from '../helpers/client.js';
import { resultText } from '../helpers/compare.js';
import { gatehouseConfig, recorderServer, scratchDir } from '../helpers/config.js';
import { startEmbeddedGatehouse, type EmbeddedGatehouse } from '../helpers/embedded.js';
import { eventually } from '../helpers/processes.js';

/**
 * The records of what happens around the calls: a shadow decision, a policy set reloaded and one
 * rejected, a server that dies and comes back. A real Gatehouse with `audit.durability: sync`.
 */
const scratch = scratchDir('audit-events');
const policies = path.join(scratch.dir, 'policies');
const audit = path.join(scratch.dir, 'audit');
const SHADOW = `mode: shadow
default: deny
rules:
  - id: deploys
    match: { servers: rec, tools: deploy }
    effect: approve
    reason: deploys need a reviewer
    approvers: [group:reviewers]
`;

/** Replaces the policy file the way operators are told to: write beside it, then rename. */
function writePolicy(text: string) {
  const temporary = path.join(policies, '.rules.yaml.tmp');
  writeFileSync(temporary, text);
  renameSync(temporary, path.join(policies, 'rules.yaml'));
}

let gatehouse: EmbeddedGatehouse;
let client: TestClient;
const events = () => auditEvents(audit);
async function until(check: (events: AuditEvent[]) => boolean, what: string) {
  await eventually(async () => check(await events()), what);
  return events();
}

beforeAll(async () => {
  scratch.write('policies/rules.yaml', SHADOW);
  const recorder = recorderServer(path.join(scratch.dir, 'rec.jsonl'));
  const config = scratch.write(
    'config.json',
    gatehouseConfig(
      { rec: recorder.server },
      {
        policies,
        policyReload: { settleMs: 100 },
        audit: { dir: audit, keyFile: `${audit}.key`, durability: 'sync' },
      },
    ),
  );
  gatehouse = await startEmbeddedGatehouse(config, { logFile: path.join(scratch.dir, 'gatehouse.log') });
  client = await gatehouse.connect();
});
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

describe('records around the calls', () => {
  it('shadow: what enforcement would have done, and the call that ran anyway', async () => {
    const result = (await client.client.callTool({
      name: 'rec__deploy',
      arguments: { build: 'b-shadow' },
    })) as CallToolResult;
    expect(resultText(result)).toBe('deployed b-shadow');
    const all = await until((e) => e.some((x) => x.event === 'call.executed'), 'the shadow call executed');
    const decided = all.find((e) => e.event === 'call.decided') as EventOf<'call.decided'>;
    expect(decided).toMatchObject({ effect: 'approve', mode: 'shadow', rules: ['deploys'] });
    expect(storyOf(all, decided.callId)).toEqual(['call.decided', 'call.executing', 'call.executed']);
  });

  it('a policy set reloaded, then a broken one rejected while the last good one stays', async () => {
    const before = (await events()).filter((e) => e.event === 'policy.loaded');
    expect(before).toHaveLength(1);
    writePolicy(SHADOW.replace('mode: shadow', 'mode: enforce'));
    const reloaded = await until(
      (e) => e.filter((x) => x.event === 'policy.loaded').length === 2,
      'the reload recorded',
    );
    const [first, second] = reloaded.filter((e) => e.event === 'policy.loaded') as EventOf<'policy.loaded'>[];
    expect(second!.version).not.toBe(first!.version);
    expect(second!.files).toEqual([path.join(policies, 'rules.yaml')]);

    writePolicy('rules: [ this is not a policy');
    const rejected = await until(
      (e) => e.some((x) => x.event === 'policy.rejected'),
      'the rejection recorded',
    );
    expect(rejected.find((e) => e.event === 'policy.rejected')).toMatchObject({
      version: second!.version,
      error: expect.stringContaining('rules.yaml'),
    });
  });

  it('a server that dies and comes back', async () => {
    const pid = gatehouse.gatehouse.status().servers.find((s) => s.name === 'rec')!.pid!;
    process.kill(pid, 'SIGKILL');
    const all = await until(
      (e) => e.some((x) => x.event === 'downstream.connected' && x.restarts === 1),
      'the reconnection recorded',
    );
    const at = (name: string) => all.findIndex((e) => e.event === name);
    expect(all[at('downstream.failed')]).toMatchObject({ server: 'rec', state: 'restarting' });
    const connected = all.filter((e) => e.event === 'downstream.connected');
    expect(connected.map((e) => (e as EventOf<'downstream.connected'>).restarts)).toEqual([0, 1]);
    expect(at('downstream.failed')).toBeLessThan(all.lastIndexOf(connected[1]!));
  });

  it('the whole log verifies', async () => {
    expect((await verifyTrail(audit, `${audit}.key`)).ok).toBe(true);
  });
});
