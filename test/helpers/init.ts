import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { scratchDir } from './config.js';
import { gatehouseArgs } from './gatehouse.js';
import { REPO } from './paths.js';
import { spawnProcess } from './processes.js';

/**
 * A user's machine for `gatehouse init`: a home folder and a project folder in a scratch folder, with
 * MCP client files copied from test/fixtures/clients into the places each client keeps them on Linux.
 */

export const CLIENT_FIXTURES = path.join(REPO, 'test/fixtures/clients');

/** Every secret value in the fixtures: none may reach a Gatehouse config in clear. */
export const FIXTURE_SECRETS = [
  'ghp_F1xtur3T0kenF1xtur3T0kenF1xtur3T0ken',
  'F1xture-db-pw',
  'sntrys_F1xtureSentryToken0123456789',
  'lin_F1xtureLinearKey',
  'F1xtureAccessToken42',
  'ghp_F1xtur3VsCodeT0kenF1xtur3VsCodeT0ken',
  'F1xture-internal-api-token',
  'ntn_F1xtureNotionToken0123456789',
];

export interface UserMachine {
  home: string;
  project: string;
  /**
   * Copies a fixture to `where` (relative to the scratch folder: `home/…` or `project/…`), with each
   * key of `values` in it replaced (JSON-escaped); returns its path.
   */
  place(fixture: string, where: string, values?: Record<string, string>): string;
  /** `gatehouse init …` as this user runs it (HOME is the home folder), with `stdin` piped in. */
  init(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** `gatehouse …` as this user runs it. */
  run(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The environment of a process of this user. */
  env: NodeJS.ProcessEnv;
}

export function userMachine(scratch: ReturnType<typeof scratchDir>, name: string): UserMachine {
  const root = path.join(scratch.dir, name);
  const home = path.join(root, 'home');
  const project = path.join(root, 'project');
  mkdirSync(home, { recursive: true });
  mkdirSync(project, { recursive: true });
  // Only what a user's shell would have: no GATEHOUSE_* of the test run, no XDG folder of the machine.
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_'))),
    HOME: home,
    XDG_CONFIG_HOME: '',
  };
  async function run(args: string[], stdin = '') {
    const spawned = spawnProcess(process.execPath, gatehouseArgs(...args), env);
    spawned.child.stdin!.end(stdin);
    const code = await spawned.exited;
    return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
  }
  return {
    home,
    project,
    env,
    place(fixture, where, values = {}) {
      const file = path.join(root, where);
      mkdirSync(path.dirname(file), { recursive: true });
      // Claude Code keys a project's servers by the project's path.
      let text = readFileSync(path.join(CLIENT_FIXTURES, fixture), 'utf8');
      for (const [key, value] of Object.entries({ __PROJECT__: project, ...values })) {
        text = text.replaceAll(key, JSON.stringify(value).slice(1, -1));
      }
      writeFileSync(file, text);
      return file;
    },
    init: (args, stdin) => run(['init', '--project', project, ...args], stdin),
    run,
  };
}
