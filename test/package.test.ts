import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';
import { scratchDir } from './helpers/config.js';
import { REPO } from './helpers/paths.js';
import { runToExit } from './helpers/processes.js';

/**
 * Running `gatehouse` by its name (README, "The gatehouse command"): the npm package is mcp-gatehouse
 * (the name `gatehouse` on the registry is another project's), its one bin is `gatehouse`, so
 * `npx mcp-gatehouse` runs it once published; what it publishes holds the built CLI; `npx gatehouse`
 * works in a checkout, and the link `npm link` makes runs it from anywhere. These run the built CLI
 * (dist/, which `npm install` builds).
 */

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
};
const scratch = scratchDir('package');
afterAll(() => scratch.remove());
const npm = (...args: string[]) =>
  runToExit('npm', args, { ...process.env, npm_config_update_notifier: 'false' });

describe('the package', () => {
  it('is mcp-gatehouse with the one command gatehouse (so npx mcp-gatehouse runs it)', () => {
    expect(pkg.name).toBe('mcp-gatehouse');
    expect(pkg.bin).toEqual({ gatehouse: './bin/gatehouse.js' });
  });

  it('publishes the built CLI, the example config and policies, the pinned schemas, and no sources or tests', async () => {
    const packed = await npm('pack', '--dry-run', '--json', '--ignore-scripts');
    expect(packed.code, packed.stderr).toBe(0);
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    for (const needed of [
      'bin/gatehouse.js',
      'dist/cli/run.js',
      'dist/main.js',
      'package.json',
      'README.md',
    ]) {
      expect(files).toContain(needed);
    }
    expect(files).toContain('mcp.config.example.json');
    // `teams package` and `slack manifest` read the pinned schemas at run time.
    for (const schema of ['teams-manifest-v1.25.json', 'slack-manifest-v1.json'])
      expect(files).toContain(`fixtures/schemas/${schema}`);
    expect(files.filter((f) => f.startsWith('fixtures/') && !f.startsWith('fixtures/schemas/'))).toEqual([]);
    expect(files).toContain('policies/filesystem.yaml');
    expect(files.filter((f) => /^(src|test|bench|scripts)\//.test(f) || f.includes('.test.'))).toEqual([]);
  });

  it('runs teams package and slack manifest as published: the files they read at run time are in it', async () => {
    const packed = await npm('pack', '--ignore-scripts', '--pack-destination', scratch.dir);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = path.join(scratch.dir, packed.stdout.trim().split('\n').at(-1)!);
    const unpacked = path.join(scratch.dir, 'installed');
    mkdirSync(unpacked);
    expect((await runToExit('tar', ['-xzf', tarball, '-C', unpacked])).code).toBe(0);
    const root = path.join(unpacked, 'package');
    // The package's dependencies, as an install would put them beside it.
    symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
    const cli = path.join(root, pkg.bin.gatehouse!);
    const zip = path.join(scratch.dir, 'teams.zip');
    const teams = await runToExit(process.execPath, [
      cli,
      'teams',
      'package',
      '--config',
      path.join(scratch.dir, 'none.json'),
      '--app-id',
      '00000000-0000-0000-0000-000000000001',
      '--public-url',
      'https://gatehouse.example.com',
      '--out',
      zip,
    ]);
    expect(teams.code, teams.stderr).toBe(0);
    const slack = await runToExit(process.execPath, [cli, 'slack', 'manifest', '--transport', 'socket']);
    expect(slack.code, slack.stderr).toBe(0);
    expect(JSON.parse(slack.stdout)).toMatchObject({ settings: { socket_mode_enabled: true } });
  });

  it('npx gatehouse runs it in a checkout', async () => {
    const run = await runToExit('npx', ['--no-install', 'gatehouse', '--version']);
    expect(run.stdout.trim()).toBe(VERSION);
  });

  it("runs through a link from another folder, as npm link's global bin is", async () => {
    const bin = path.join(scratch.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(path.join(REPO, pkg.bin.gatehouse!), path.join(bin, 'gatehouse'));
    const run = await runToExit(path.join(bin, 'gatehouse'), ['--version']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(VERSION);
  });
});
