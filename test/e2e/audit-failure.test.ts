import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { resultText } from '../helpers/compare.js';
import { ALLOW_ALL_POLICIES, gatehouseConfig, recorderServer, scratchDir } from '../helpers/config.js';
import { connectHttpAs } from '../helpers/embedded.js';
import { formatStatus } from '../../src/cli/status.js';
import { fetchStatus, startHttpGatehouse } from '../helpers/gatehouse.js';

/**
 * A call whose audit record cannot be written does not run. A real Gatehouse whose files may not grow
 * past 64 KiB (`ulimit -f`, as a full disk looks to the process): once its audit segment is full, calls
 * are refused with a clear error and never reach the server, while what needs no record (tools/list,
 * /status) is still served and status says why.
 */
const scratch = scratchDir('audit-failure');

/** A stdio server started through bash, which lifts the soft file size limit before it runs. */
const unlimited = (server: { command: string; args: string[]; cwd: string }) => ({
  ...server,
  command: 'bash',
  args: ['-c', 'ulimit -S -f unlimited; exec "$0" "$@"', server.command, ...server.args],
});
afterAll(() => scratch.remove());

it('fails calls closed when the audit log cannot be written, and keeps serving the rest', async () => {
  const recorder = recorderServer(`${scratch.dir}/rec.jsonl`);
  const config = scratch.write(
    'config.json',
    gatehouseConfig(
      // The recorder lifts the file size limit it inherits: only Gatehouse's own disk is full.
      { rec: unlimited(recorder.server) },
      { policies: ALLOW_ALL_POLICIES, audit: { dir: './audit', keyFile: './audit.key' } },
    ),
  );
  const gatehouse = await startHttpGatehouse(config, {}, 64);
  const client = await connectHttpAs(gatehouse.mcpUrl);
  try {
    const padding = 'x'.repeat(2_000);
    let refused: { result: CallToolResult; marker: string } | undefined;
    // Each call leaves three records of a few KiB: the segment is full within some 10 calls.
    for (let i = 0; i < 200 && !refused; i++) {
      const marker = randomUUID();
      const result = (await client.client.callTool({
        name: 'rec__echo',
        arguments: { message: `${marker} ${padding}` },
      })) as CallToolResult;
      if (result.isError) refused = { result, marker };
      else expect(resultText(result)).toContain(marker);
    }
    expect(refused, 'a call was refused once the audit log was full').toBeDefined();
    const text = resultText(refused!.result);
    expect(text).toContain('the audit record of this call cannot be written, so the call was not executed');
    expect(text).not.toMatch(/^\s+at /m);
    // It never reached the server.
    expect(recorder.received().some((c) => String(c.arguments.message).startsWith(refused!.marker))).toBe(
      false,
    );

    // The rest is served, and status says why calls are refused.
    const { tools } = await client.client.listTools();
    expect(tools.map((t) => t.name)).toContain('rec__echo');
    const status = await fetchStatus(gatehouse.baseUrl);
    expect(status.audit.state).toBe('failing');
    expect(status.problems.join('\n')).toContain('the audit log cannot be written');
    expect(formatStatus(status)).toMatch(/^Audit log .*audit: failing, \d+ record\(s\)/m);
    // A call whose record cannot fit in what is left is refused as long as the disk stays full (a
    // smaller one may still fit: the log cuts a failed write back and tries each append anew).
    const again = (await client.client.callTool({
      name: 'rec__echo',
      arguments: { message: `again ${'y'.repeat(48_000)}` },
    })) as CallToolResult;
    expect(again.isError).toBe(true);
    expect(gatehouse.child.exitCode).toBeNull();
  } finally {
    await client.close();
    await gatehouse.stop();
  }
});
