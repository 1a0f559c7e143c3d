import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { BOB, approve, approverApi, expectPending, gatedGatehouse, reaches } from '../helpers/gated.js';
import { eventually } from '../helpers/processes.js';

/**
 * Canary secrets planted in arguments appear in none of the outputs redaction covers (log-redaction
 * plants them in a server's config and output): the audit log and its checkpoints, the SIEM copy (OTLP), the
 * operational log, the approval API's list, the receipt. The approval request itself keeps them exact,
 * for the approvers, which shows that they were really there.
 */

const CANARY = {
  bearer: 'c4nary-bearer-0a1b2c3d4e5f',
  password: 'c4nary-password-a8f3',
  apiKey: 'c4nary-apikey-77e1',
  aws: 'AKIAC4NARY0EXAMPLE77',
  urlPassword: 'c4nary-url-pw-19',
} as const;
const canaries = Object.values(CANARY);

/** A local OTLP/HTTP receiver: every body it was sent. */
const received: string[] = [];
const receiver: Server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    received.push(body);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const otlpUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/logs`;

const scratch = scratchDir('audit-canaries');
const gated = gatedGatehouse(scratch, 'canaries', {
  audit: { otlp: { url: otlpUrl, flushIntervalMs: 50 }, checkpoint: { everyRecords: 5 } },
});
afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

/** Every file under `dir`, read as text. */
function filesUnder(dir: string): string {
  return readdirSync(dir)
    .map((name) => path.join(dir, name))
    .map((file) => (statSync(file).isDirectory() ? filesUnder(file) : readFileSync(file, 'utf8')))
    .join('\n');
}

const leaks = (text: string) => canaries.filter((canary) => text.includes(canary));

describe('canary secrets', () => {
  let approvalId: string;
  let receipt: unknown;

  it('pass through allowed and approved calls', async () => {
    const echo = await gated.call('rec__echo', {
      message: `token=${CANARY.apiKey} from postgres://app:${CANARY.urlPassword}@db/prod`,
      password: CANARY.password,
    });
    expect(resultText(echo)).toContain(CANARY.apiKey);

    const pending = expectPending(
      await gated.call('rec__deploy', {
        build: `Bearer ${CANARY.bearer}`,
        credentials: { aws: CANARY.aws },
      }),
      'deploy',
    );
    approvalId = pending.approvalId;
    await approve(gated.approvals, approvalId, BOB);
    await reaches(gated.approvals, approvalId, 'executed');
    const retry = await gated.call('rec__deploy', {
      build: `Bearer ${CANARY.bearer}`,
      credentials: { aws: CANARY.aws },
    });
    receipt = (retry._meta as Record<string, unknown>)['gatehouse/receipt'];
    expect(receipt).toBeDefined();
  });

  it('the approvers see the exact arguments of the request they decide', async () => {
    const bob = await gated.api.as(BOB);
    const exact = await bob.get(approvalId);
    expect(JSON.stringify(exact.json)).toContain(CANARY.bearer);
    expect(JSON.stringify(exact.json)).toContain(CANARY.aws);
  });

  it('appear nowhere else', async () => {
    const bob = await approverApi(gated.url).as(BOB);
    const list = await bob.list('executed');
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.json)).toContain(approvalId);
    expect(leaks(JSON.stringify(list.json))).toEqual([]);

    expect(leaks(JSON.stringify(receipt))).toEqual([]);

    // The SIEM copy has the calls' records, redacted.
    await eventually(() => received.some((body) => body.includes('call.executed')), 'exported records');
    expect(leaks(received.join('\n'))).toEqual([]);

    await gated.embedded.stop();
    const trail = filesUnder(gated.setUp.audit);
    expect(trail).toContain('[REDACTED');
    expect(leaks(trail)).toEqual([]);
    expect(leaks(readFileSync(gated.setUp.logFile, 'utf8'))).toEqual([]);
  });
});
