import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/config.js';
import { approvalSetUp } from '../helpers/gated.js';
import { gatehouseArgs } from '../helpers/gatehouse.js';
import { eventually, spawnProcess, type Spawned } from '../helpers/processes.js';

/**
 * A Gatehouse that cannot start exits, non-zero and at once: it stops the downstream servers it had
 * started and releases the store's lock, so a supervisor sees the failure and a restart is not refused.
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
