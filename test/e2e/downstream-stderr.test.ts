import { afterAll, expect, it } from 'vitest';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { loggedEntry, logEntries, startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';

/**
 * A downstream's stderr is its own log, unlevelled: at info, Gatehouse's log does not repeat it line by
 * line (banners, routine chatter); a server that exits unasked has its last lines in the warning, so it
 * still explains itself at info (README, Command line; Troubleshooting).
 */

const scratch = scratchDir('downstream-stderr');
let gatehouse: HttpGatehouse | undefined;
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

it("a server's stderr is not on the info log, but its last lines come with its exit", async () => {
  const failing = {
    command: process.execPath,
    args: [
      '-e',
      "console.error('starting up'); for (let i = 0; i < 25; i++) console.error('line ' + i); " +
        "console.error('npm error could not determine executable to run'); process.exit(1)",
    ],
  };
  const config = scratch.write('config.json', gatehouseConfig({ broken: failing }));
  gatehouse = await startHttpGatehouse(config);
  const exited = await loggedEntry(
    () => gatehouse!.stderr(),
    (e) => e.msg === 'downstream process exited' && e.server === 'broken',
    'the exit warning',
  );
  expect(exited.level).toBe(40);
  expect(exited.code).toBe(1);
  const lines = exited.stderr as string[];
  expect(lines).toHaveLength(20);
  expect(lines.at(-1)).toBe('npm error could not determine executable to run');
  expect(lines[0]).toBe('line 6');
  // Not one line of it on its own at info.
  expect(logEntries(gatehouse.stderr()).filter((e) => e.stream === 'stderr')).toEqual([]);
});
