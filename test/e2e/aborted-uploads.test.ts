import { connect } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import type { GatehouseStatus } from '../../src/main.js';
import { scratchDir } from '../helpers/config.js';
import { approvalSetUp, TOKENS } from '../helpers/gated.js';
import { logEntries, startHttpGatehouse } from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';

/**
 * A client that hangs up in the middle of its request body is not Gatehouse's error, signed in or
 * not: it is logged at debug and counted in status, never logged as an error.
 */

const scratch = scratchDir('aborted-uploads');
afterAll(() => scratch.remove());

/** Sends the headers and the first bytes of a body announced longer, then hangs up. */
function abortedUpload(url: string, path: string, headers: Record<string, string>): Promise<void> {
  const { hostname, port, host } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const lines = [
        `POST ${path} HTTP/1.1`,
        `Host: ${host}`,
        'Content-Length: 4096',
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\nuser=bob&password=`, () => {
        socket.destroy();
        resolve();
      });
    });
    socket.once('error', reject);
  });
}

it('counts uploads cut short at debug level, on the approval page and on /mcp, and logs no error', async () => {
  const setUp = approvalSetUp(scratch, 'aborts', { log: { level: 'debug' } });
  const gatehouse = await startHttpGatehouse(setUp.config);
  try {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    for (let i = 0; i < 100; i++) await abortedUpload(gatehouse.baseUrl, '/approvals/sign-in', form);
    const mcp = {
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      Authorization: `Bearer ${TOKENS.alice}`,
    };
    for (let i = 0; i < 10; i++) await abortedUpload(gatehouse.baseUrl, '/mcp', mcp);

    const status = async () => {
      const response = await fetch(`${gatehouse.baseUrl}/status`, {
        headers: { authorization: `Bearer ${TOKENS.alice}` },
      });
      return (await response.json()) as GatehouseStatus;
    };
    await eventually(async () => (await status()).http.abortedRequests === 110, 'all 110 aborts counted');

    const entries = logEntries(gatehouse.stderr());
    expect(entries.filter((e) => (e.level as number) >= 50)).toEqual([]);
    const debug = entries.filter((e) => e.level === 20 && String(e.msg).includes('before its request body'));
    expect(debug).toHaveLength(110);
  } finally {
    await gatehouse.stop();
  }
});
