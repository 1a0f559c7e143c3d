import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditEvents } from '../helpers/audit.js';
import { resultText } from '../helpers/compare.js';
import { eventually } from '../helpers/processes.js';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startEverythingHttp, type HttpDownstream } from '../helpers/downstreams.js';
import { startEmbeddedGatehouse, type EmbeddedGatehouse } from '../helpers/embedded.js';
import type { TestClient } from '../helpers/client.js';

/**
 * A server configured as `http` that turns out to speak only the legacy SSE transport cannot take a
 * header on one request alone: a call that would carry a credential fails closed, readable, and is
 * never sent with the header on every request instead. Calls without a credential are served as usual.
 */

const scratch = scratchDir('credentials-sse');
let server: HttpDownstream;
let embedded: EmbeddedGatehouse;
let client: TestClient;

beforeAll(async () => {
  server = await startEverythingHttp('sse');
  scratch.write(
    'policies/p.yaml',
    `default: deny
rules:
  - id: echo-with-token
    match: { servers: legacy, tools: echo }
    effect: allow
    credentials: [token]
  - id: structured-plain
    match: { servers: legacy, tools: get-structured-content }
    effect: allow
`,
  );
  const config = scratch.write(
    'config.json',
    gatehouseConfig(
      {
        legacy: {
          url: server.url,
          credentials: {
            token: {
              source: { type: 'static', value: 'sse-canary-0123456789abcdef' },
              inject: { header: 'Authorization', prefix: 'Bearer ' },
            },
          },
        },
      },
      {
        policies: path.join(scratch.dir, 'policies'),
        approvals: { store: path.join(scratch.dir, 'store.json') },
        audit: { dir: path.join(scratch.dir, 'audit'), keyFile: path.join(scratch.dir, 'audit.key') },
      },
    ),
  );
  embedded = await startEmbeddedGatehouse(config, { logFile: path.join(scratch.dir, 'gatehouse.log') });
  client = await embedded.connect();
});
afterAll(async () => {
  await embedded?.stop();
  await server?.stop();
  scratch.remove();
});

it('fails a call with a header credential closed on a server reached over legacy SSE', async () => {
  expect(embedded.gatehouse.status().servers).toEqual([
    expect.objectContaining({ name: 'legacy', state: 'ready', transport: 'sse' }),
  ]);
  const refused = (await client.client.callTool({
    name: 'legacy__echo',
    arguments: { message: 'hi' },
  })) as CallToolResult;
  expect(refused.isError).toBe(true);
  expect(resultText(refused)).toContain('connected over sse, which cannot carry a credential on one request');
  expect(resultText(refused)).toContain('the call was not executed');
  expect(refused._meta).toEqual({ 'gatehouse/error': { code: 'CREDENTIAL_UNAVAILABLE' } });
  await eventually(
    async () =>
      (await auditEvents(path.join(scratch.dir, 'audit'))).some(
        (e) =>
          e.event === 'call.failed' &&
          e.tool === 'echo' &&
          e.reachedServer === false &&
          e.error.code === 'CREDENTIAL_UNAVAILABLE',
      ),
    'the refusal is recorded as never sent',
  );

  const plain = (await client.client.callTool({
    name: 'legacy__get-structured-content',
    arguments: { location: 'Chicago' },
  })) as CallToolResult;
  expect(plain.isError).toBeFalsy();
});
