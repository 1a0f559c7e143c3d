import { open, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadPolicySet } from '../../src/decision/load.js';
import { PolicyLimitsSchema } from '../../src/decision/options.js';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { connectHttp, fetchStatus, startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';
import { rawRecorderServer } from '../helpers/rawRecorder.js';

/**
 * Policy files rewritten while calls stream in (issue 7, defect 1). `00-allow.yaml` allows `ctr/op`;
 * `10-deny.yaml` denies it when `args.level > 5`. Every rewrite keeps that meaning, so the intended
 * policy never allows a level over 5: a file taken while it is being written (empty, cut short, or
 * missing) would. The file is rewritten the ways people and tools do it, then once with broken
 * content; calls run throughout, and every one of them is counted.
 *
 * The writers' pauses are their pace (a slow `cp`, `(sleep 1; cat new) > file`), shorter or longer
 * than the settle interval as each case needs; the test waits for Gatehouse by its status.
 */

const SETTLE_MS = 400;
const scratch = scratchDir('half-written');
const policies = path.join(scratch.dir, 'policies');
const denyFile = path.join(policies, '10-deny.yaml');
const recorder = rawRecorderServer(path.join(scratch.dir, 'calls.jsonl'));

const allowYaml = `rules:
  - id: allow-op
    match: { servers: ctr, tools: op }
    effect: allow
`;
/** The intended deny rule; `n` changes only its reason, so each rewrite is a new version. */
const denyYaml = (n: number) => `# rewrite ${n}
rules:
  - id: deny-high-level
    description: Levels over 5 are refused.
    match: { servers: ctr, tools: op }
    when: has(args.level) && args.level > 5
    effect: deny
    reason: level too high (rewrite ${n})
`;

let gatehouse: HttpGatehouse;
beforeAll(async () => {
  scratch.write('policies/00-allow.yaml', allowYaml);
  scratch.write('policies/10-deny.yaml', denyYaml(0));
  const config = scratch.write(
    'config.json',
    gatehouseConfig({ ctr: recorder.server }, { policies, policyReload: { settleMs: SETTLE_MS } }),
  );
  gatehouse = await startHttpGatehouse(config);
});
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const policyStatus = async () => (await fetchStatus(gatehouse.baseUrl)).policy;

/** The version Gatehouse gives the folder's files as they are now (the config has no vars). */
async function versionOnDisk(): Promise<string> {
  const result = await loadPolicySet(policies, { vars: {}, limits: PolicyLimitsSchema.parse({}) });
  if (!result.ok) throw new Error(`the intended files do not load: ${result.problems[0]?.message}`);
  return result.set.version;
}

/** Waits until Gatehouse runs the folder's current files, with no failed reload outstanding. */
async function loaded(what: string): Promise<void> {
  const want = await versionOnDisk();
  await eventually(
    async () => {
      const status = await policyStatus();
      return status.version === want && status.lastError === undefined;
    },
    `Gatehouse runs the files as ${what} left them`,
    30_000,
  );
}

interface Tally {
  /** Calls the intended policy denies (level > 5) that Gatehouse allowed: must stay 0. */
  allowedButDenied: number;
  deniedHigh: number;
  allowedLow: number;
  deniedLow: number;
  failed: number;
}

/** Calls `ctr__op` from `lanes` clients, each in a loop over levels 0 to 10, until `stop()`. */
async function streamCalls(lanes: number) {
  const tally: Tally = { allowedButDenied: 0, deniedHigh: 0, allowedLow: 0, deniedLow: 0, failed: 0 };
  let running = true;
  const clients = await Promise.all(Array.from({ length: lanes }, () => connectHttp(gatehouse.mcpUrl)));
  const lane = async (lane: number) => {
    const { client } = clients[lane]!;
    for (let i = lane * 3; running; i++) {
      const level = i % 11;
      let result: CallToolResult;
      try {
        result = (await client.callTool({
          name: 'ctr__op',
          arguments: { level },
        })) as CallToolResult;
      } catch {
        tally.failed++;
        continue;
      }
      const allowed = result.isError !== true;
      if (level > 5) tally[allowed ? 'allowedButDenied' : 'deniedHigh']++;
      else tally[allowed ? 'allowedLow' : 'deniedLow']++;
    }
  };
  const done = Promise.all(clients.map((_, i) => lane(i)));
  return {
    tally,
    async stop() {
      running = false;
      await done;
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

/** The four ways a file gets replaced; each leaves the intended policy, with reason `n`. */
const WRITERS: [string, (n: number) => Promise<void>][] = [
  [
    'write a temporary file, then rename it over the old one',
    async (n) => {
      const temp = path.join(policies, '10-deny.yaml.tmp');
      await writeFile(temp, denyYaml(n));
      await rename(temp, denyFile);
    },
  ],
  ['write in place', (n) => writeFile(denyFile, denyYaml(n))],
  [
    'truncate, then write slowly, line by line, for longer than the settle interval',
    async (n) => {
      const file = await open(denyFile, 'w');
      try {
        for (const line of denyYaml(n).split(/(?<=\n)/)) {
          await pause(SETTLE_MS / 4);
          await file.write(line);
        }
      } finally {
        await file.close();
      }
    },
  ],
  [
    'truncate, stay empty for longer than the settle interval, then write: (sleep; cat new) > file',
    async (n) => {
      await truncate(denyFile);
      await pause(SETTLE_MS * 3);
      await writeFile(denyFile, denyYaml(n));
    },
  ],
  [
    'unlink, then create again',
    async (n) => {
      await unlink(denyFile);
      await pause(SETTLE_MS / 3);
      await writeFile(denyFile, denyYaml(n));
    },
  ],
];

it('while calls stream in, no rewrite of a policy file lets through a call the intended policy denies', async () => {
  await loaded('the test wrote them');
  let good: string | undefined;
  let brokenLandedOn: string | undefined;
  const stream = await streamCalls(4);
  try {
    let n = 0;
    for (const [what, write] of WRITERS) {
      const before = { ...stream.tally };
      await write(++n);
      await loaded(what);
      // Calls ran during this rewrite, some of each kind.
      expect(stream.tally.deniedHigh, what).toBeGreaterThan(before.deniedHigh);
      expect(stream.tally.allowedLow, what).toBeGreaterThan(before.allowedLow);
    }

    // The content that finally lands is broken: the set from before the truncation stays.
    good = (await policyStatus()).version;
    await truncate(denyFile);
    await pause(SETTLE_MS * 3);
    await writeFile(denyFile, denyYaml(++n).replace('args.level > 5', 'args.level >'));
    await eventually(
      async () => (await policyStatus()).lastError?.includes('10-deny.yaml:6:') === true,
      'the broken file is reported',
      30_000,
    );
    brokenLandedOn = (await policyStatus()).version;
    const high = () => stream.tally.deniedHigh + stream.tally.allowedButDenied;
    const after = high();
    await eventually(() => high() > after + 20, 'more calls over level 5 are decided');
  } finally {
    await stream.stop();
  }

  const { tally } = stream;
  expect(tally.allowedButDenied).toBe(0);
  expect(brokenLandedOn).toBe(good);
  // The downstream's own record agrees: no call with a level over 5 ever reached it.
  expect(recorder.received().filter((c) => (c.arguments.level as number) > 5)).toHaveLength(0);
  expect(tally.failed).toBe(0);
  expect(tally.deniedLow).toBe(0);
  expect(recorder.received()).toHaveLength(tally.allowedLow);
});
