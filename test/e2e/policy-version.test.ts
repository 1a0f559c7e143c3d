import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseConfig, recorderServer, scratchDir } from '../helpers/config.js';
import {
  fetchStatus,
  runGatehouseCli,
  startHttpGatehouse,
  type HttpGatehouse,
} from '../helpers/gatehouse.js';
import { REPO } from '../helpers/paths.js';

/**
 * One set of files has one version (issue 7, defect 8): `gatehouse policy check` and `policy eval`
 * print the version a running Gatehouse reports in `status` for the same folder. The version once
 * covered the folder's path as typed and told "no vars given" from "no vars configured".
 */

const scratch = scratchDir('policy-version');
afterAll(() => scratch.remove());

const withVars = path.dirname(
  scratch.write(
    'with-vars/echo.yaml',
    `rules:
  - id: echo-small
    match: { servers: rec, tools: echo }
    when: size(args.message) <= vars.maxLength
    effect: allow
`,
  ),
);
const plain = path.dirname(
  scratch.write('plain/echo.yaml', 'rules:\n  - id: echo\n    match: { tools: echo }\n    effect: allow\n'),
);
scratch.write('plain/settings.yaml', 'default: deny\n');
const call = scratch.write('call.json', { server: 'rec', tool: 'echo', arguments: { message: 'hi' } });

const versionPrinted = (stdout: string) => /version (sha256:[0-9a-f]{16})/.exec(stdout)?.[1];
const policyVersionOf = (stdout: string) => (JSON.parse(stdout) as { policyVersion: string }).policyVersion;

interface Serving {
  gatehouse: HttpGatehouse;
  configFile: string;
}

async function serving(name: string, extra: Record<string, unknown>): Promise<Serving> {
  const recorder = recorderServer(path.join(scratch.dir, 'never.jsonl'));
  const configFile = scratch.write(`${name}.json`, gatehouseConfig({ rec: recorder.server }, extra));
  return { gatehouse: await startHttpGatehouse(configFile), configFile };
}

describe('a config with vars and policy limits', () => {
  let running: Serving;
  beforeAll(async () => {
    running = await serving('with-vars', {
      policies: withVars,
      vars: { maxLength: 20 },
      policyLimits: { maxArgumentDepth: 8 },
    });
  });
  afterAll(async () => {
    await running?.gatehouse.stop();
  });

  it('`policy check --config` and `policy eval --config` print the version `status` reports', async () => {
    const version = (await fetchStatus(running.gatehouse.baseUrl)).policy.version;
    const check = await runGatehouseCli(['policy', 'check', '--config', running.configFile]);
    expect(check.stderr).toBe('');
    expect(versionPrinted(check.stdout)).toBe(version);
    const evaluated = await runGatehouseCli([
      'policy',
      'eval',
      '--config',
      running.configFile,
      '--call',
      call,
    ]);
    expect(policyVersionOf(evaluated.stdout)).toBe(version);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ effect: 'allow', rule: 'echo-small' });
  });
});

describe('a config without vars', () => {
  let running: Serving;
  beforeAll(async () => {
    running = await serving('plain', { policies: plain });
  });
  afterAll(async () => {
    await running?.gatehouse.stop();
  });

  it('`policy check --policies <folder as typed>` prints the version `status` reports', async () => {
    const version = (await fetchStatus(running.gatehouse.baseUrl)).policy.version;
    // The CLI runs in the repository: the folder as someone there would type it.
    const check = await runGatehouseCli(['policy', 'check', '--policies', path.relative(REPO, plain)]);
    expect(check.stdout).toContain('ok: 1 rule(s) in 2 file(s)');
    expect(versionPrinted(check.stdout)).toBe(version);
    const absolute = await runGatehouseCli(['policy', 'check', '--policies', plain]);
    expect(versionPrinted(absolute.stdout)).toBe(version);
  });
});
