import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';
import { eventually, freePort, runToExit, spawnProcess, type Spawned } from '../helpers/processes.js';
import { CONFORMANCE, ensureRealClients, NODE22, REFERENCE_SERVER } from '../helpers/realClients.js';

/*
 * The official conformance suite (@modelcontextprotocol/conformance 0.2.x) runs its server scenarios
 * against its own reference server directly and through Gatehouse, at each revision's wire
 * (`--requirements 2025-11-25`: initialize and sessions; `--requirements 2026-07-28`: stateless, with
 * the per-request envelope), and the two must fail exactly the same checks. Where they differ at
 * 2026-07-28 the difference is named below with its reason, so a new difference, or one that
 * disappears, fails the test until this list says why.
 *
 * The reference server serves both eras (its server/discover lists only 2026-07-28, yet it takes
 * initialize), so Gatehouse reaches it with initialize, at 2025-11-25, the era it relays in full
 * (README, Protocol eras): the 2025-11-25 run must then pass everything through Gatehouse. What the
 * reference server shows only to 2026-07-28 requests is therefore out of reach through Gatehouse,
 * which is where most differences at 2026-07-28 come from.
 */

type Failures = Record<string, string[]>;

/** Checks that fail directly and pass through Gatehouse, and the reverse, per scenario, with why. */
const KNOWN_2026: Record<string, { directOnly?: string[]; gatehouseOnly?: string[]; why: string }> = {
  ...Object.fromEntries(
    [
      'tools-call-simple-text',
      'tools-call-image',
      'tools-call-audio',
      'tools-call-embedded-resource',
      'tools-call-mixed-content',
      'tools-call-error',
      'tools-call-with-progress',
      'tasks-wire-fields',
      'tasks-request-state-removal',
      'tasks-mrtr-input',
      'tasks-required-task-error',
      'tasks-mrtr-composition',
    ].map((scenario) => [
      scenario,
      {
        directOnly: ['wire-schema-valid'],
        why: 'the reference server (SDK v1) streams its tools/call results without resultType; Gatehouse answers every 2026-07-28 result with it',
      },
    ]),
  ),
  'tasks-lifecycle': {
    directOnly: ['wire-schema-valid'],
    gatehouseOnly: ['tasks-sync-tool-call'],
    why: 'the reference server lists its sync task-scenario tool (greet) to 2026-07-28 requests only',
  },
  'tasks-capability-negotiation': {
    directOnly: ['sep-2663-tasks-methods-non-declaring', 'tasks-extension-advertised', 'wire-schema-valid'],
    gatehouseOnly: ['sep-2663-server-rejects-undeclared-client'],
    why: 'Gatehouse serves the Tasks extension (the reference server does not advertise it, nor refuse task methods from a client without it with -32021); the scenario calls the task tools only a 2026-07-28 request of the reference server lists',
  },
  'tasks-dispatch-and-envelope': {
    directOnly: ['sep-2663-tasks-get-invalid-task-id-32602', 'wire-schema-valid'],
    gatehouseOnly: ['tasks-immediate-result-shortcut'],
    why: 'Gatehouse serves tasks/get (unknown ids are -32602); the reference server lists the task tools to 2026-07-28 requests only',
  },
  'tasks-request-headers': {
    directOnly: ['tasks-headers-reject-mismatched-method', 'wire-schema-valid'],
    why: 'Gatehouse checks Mcp-Method and Mcp-Name on the task methods too',
  },
  'http-header-validation': {
    directOnly: ['sep-2243-server-reject-invalid-headers'],
    why: 'Gatehouse refuses a header value that is neither plain ASCII nor the Base64 sentinel',
  },
  'server-stateless': {
    gatehouseOnly: [
      'sep-2575-server-rejects-undeclared-capability',
      'sep-2575-missing-capability-http-400',
      'sep-2575-http-server-no-independent-requests-on-stream',
      'sep-2575-server-no-log-without-loglevel',
    ],
    why: 'untestable through Gatehouse: their diagnostic tools are listed only to 2026-07-28 requests, and Gatehouse reaches a server of both eras at 2025-11-25',
  },
  ...Object.fromEntries(
    [
      ['basic-elicitation', 'sep-2322-elicitation-incomplete'],
      ['basic-sampling', 'sep-2322-sampling-incomplete'],
      ['basic-list-roots', 'sep-2322-list-roots-incomplete'],
      ['request-state', 'sep-2322-request-state-incomplete'],
      ['multiple-input-requests', 'sep-2322-multiple-inputs-incomplete'],
      ['multi-round', 'sep-2322-multi-round-r1'],
      ['non-tool-request', 'sep-2322-non-tool-incomplete'],
      ['result-type', 'sep-2322-result-type-included'],
      ['tampered-state', 'sep-2322-reject-tampered-state'],
      ['capability-check', 'sep-2322-respect-client-capabilities'],
    ].map(([scenario, check]) => [
      `input-required-result-${scenario}`,
      {
        gatehouseOnly: [check!],
        why: 'the MRTR tools of the reference server are listed only to 2026-07-28 requests, and Gatehouse reaches a server of both eras at 2025-11-25, so that legacy clients keep its completion, resource subscriptions, elicitation and sampling',
      },
    ]),
  ),
};

const scratch = scratchDir('conformance');
const results = mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-results-'));
let reference: Spawned;
let referenceUrl: string;
let gatehouse: HttpGatehouse;

beforeAll(async () => {
  await ensureRealClients();
  const port = await freePort();
  reference = spawnProcess(process.execPath, ['--import', 'tsx', REFERENCE_SERVER], {
    ...process.env,
    PORT: String(port),
  });
  await eventually(() => reference.stdout().includes('MCP endpoint'), 'the reference server listens');
  referenceUrl = `http://localhost:${port}/mcp`;
  // Unprefixed, so the scenarios find the reference server's tools and prompts by their own names.
  const config = scratch.write(
    'gatehouse.json',
    gatehouseConfig({ reference: { url: referenceUrl, prefix: '' } }),
  );
  gatehouse = await startHttpGatehouse(config);
}, 600_000);

afterAll(async () => {
  await gatehouse?.stop();
  await reference?.stop();
  scratch.remove();
  rmSync(results, { recursive: true, force: true });
});

/** One `conformance server` run: every scenario's failed check ids (an empty list when it passed). */
async function conformance(url: string, revision: string, label: string): Promise<Failures> {
  const out = path.join(results, `${label}-${revision}`);
  const run = await runToExit(NODE22, [
    CONFORMANCE,
    'server',
    '--url',
    url,
    '--requirements',
    revision,
    '--output-dir',
    out,
  ]);
  expect(run.stdout, run.stderr).toContain('=== SUMMARY ===');
  const failures: Failures = {};
  for (const dir of readdirSync(out)) {
    const scenario = dir.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT.*$/, '');
    const checks = JSON.parse(readFileSync(path.join(out, dir, 'checks.json'), 'utf8')) as {
      id: string;
      status: string;
    }[];
    // A scenario may fail one check id several times (once per header case): the id is what counts.
    failures[scenario] = [
      ...new Set(checks.filter((check) => check.status === 'FAILURE').map((check) => check.id)),
    ].sort();
  }
  return failures;
}

const without = (list: string[], drop: string[] = []) => list.filter((id) => !drop.includes(id));

describe('the official conformance suite, directly and through Gatehouse', () => {
  it('reaches the reference server, which serves both eras, with initialize (2025-11-25)', async () => {
    await eventually(
      () => /"server":"reference".*"era":/.test(gatehouse.stderr()),
      'Gatehouse connected to the reference server',
    );
    expect(gatehouse.stderr()).toMatch(/"server":"reference".*"era":"legacy \(initialize\)"/);
  });

  it('2025-11-25: every scenario passes through Gatehouse as it does directly', async () => {
    const direct = await conformance(referenceUrl, '2025-11-25', 'direct');
    const through = await conformance(gatehouse.mcpUrl, '2025-11-25', 'gatehouse');
    expect(Object.keys(direct).length).toBeGreaterThanOrEqual(33);
    expect(Object.keys(through).sort()).toEqual(Object.keys(direct).sort());
    expect(through).toEqual(direct);
    expect(Object.values(through).flat()).toEqual([]);
  });

  it('2026-07-28: the same failed checks as directly, but for the differences named with their reason', async () => {
    const direct = await conformance(referenceUrl, '2026-07-28', 'direct');
    const through = await conformance(gatehouse.mcpUrl, '2026-07-28', 'gatehouse');
    expect(Object.keys(direct).length).toBeGreaterThanOrEqual(50);
    expect(Object.keys(through).sort()).toEqual(Object.keys(direct).sort());
    const differences: Record<string, { directOnly: string[]; gatehouseOnly: string[] }> = {};
    for (const [scenario, failed] of Object.entries(direct)) {
      const viaGatehouse = through[scenario]!;
      const difference = {
        directOnly: without(failed, viaGatehouse),
        gatehouseOnly: without(viaGatehouse, failed),
      };
      if (difference.directOnly.length + difference.gatehouseOnly.length > 0)
        differences[scenario] = difference;
    }
    const expected = Object.fromEntries(
      Object.entries(KNOWN_2026).map(([scenario, known]) => [
        scenario,
        {
          directOnly: [...(known.directOnly ?? [])].sort(),
          gatehouseOnly: [...(known.gatehouseOnly ?? [])].sort(),
        },
      ]),
    );
    expect(differences).toEqual(expected);
    // What the scored scenarios (those not about the Tasks extension) show through Gatehouse.
    const scored = Object.entries(through).filter(([scenario]) => !scenario.startsWith('tasks-'));
    expect(scored.filter(([, failed]) => failed.length === 0).length).toBeGreaterThanOrEqual(28);
  });
});
