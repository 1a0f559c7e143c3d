import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEvent } from '../../src/audit/describe.js';
import { auditEvents } from '../helpers/audit.js';
import { resultText } from '../helpers/compare.js';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { expectDenied } from '../helpers/decisions.js';
import { startEmbeddedGatehouse, type EmbeddedGatehouse } from '../helpers/embedded.js';
import { approve, expectPending, reaches } from '../helpers/gated.js';
import { REPO } from '../helpers/paths.js';
import { eventually, isAlive } from '../helpers/processes.js';
import type { TestClient } from '../helpers/client.js';
import { startHeadersEcho } from '../fixtures/servers/headers-echo-http.js';
import { startTokenEndpoint } from '../fixtures/servers/oauth-token-endpoint.js';
import { startVaultStandIn } from '../fixtures/servers/vault-stand-in.js';

/**
 * Credentials scoped to the approved call, end to end on loopback: an HTTP server that echoes the
 * headers it receives, a local OAuth token endpoint, a local Vault stand-in, a stdio server started
 * per call, and a credential command. The credential reaches the server on the one call its rule
 * names, nowhere else, and no output Gatehouse writes (results, errors, log, audit trail, store) ever
 * shows its value.
 */

const scratch = scratchDir('credentials');
const READER = `reader-canary-${Date.now().toString(36)}-0123456789abcdef`;
const VAULT_TOKEN = 'vault-root-token-e2e-0123456789';
const BOB = { id: 'bob', groups: ['reviewers'] };
const ALICE_TOKEN = 'alice-token-credentials-e2e';
process.env.CREDS_E2E_READER = READER;

const POLICY = `default: deny
rules:
  - id: no-forbidden
    match: { servers: api }
    when: "has(args.id) && args.id == 'forbidden'"
    effect: deny
  - id: read-with-reader
    match: { servers: api, tools: [read, leak, broken] }
    effect: allow
    credentials: [reader]
  - id: other-plain
    match: { servers: api, tools: other }
    effect: allow
  - id: delete-one-item
    match: { servers: api, tools: delete }
    effect: approve
    approvers: [group:reviewers]
    credentials: [deleter]
  - id: query-db
    match: { servers: api, tools: [query, slow, crash] }
    effect: approve
    approvers: [group:reviewers]
    credentials: [db]
  - id: wait-db
    match: { servers: api, tools: wait }
    effect: allow
    credentials: [db]
  - id: unissued
    match: { servers: api, tools: unissued }
    effect: allow
    credentials: [missing-file]
  - id: whoami-elevated
    match: { servers: local, tools: whoami }
    when: has(args.elevated)
    effect: allow
    credentials: [cli]
  - id: whoami-plain
    match: { servers: local, tools: whoami }
    when: "!has(args.elevated)"
    effect: allow
`;

let echo: Awaited<ReturnType<typeof startHeadersEcho>>;
let oauth: Awaited<ReturnType<typeof startTokenEndpoint>>;
let vault: Awaited<ReturnType<typeof startVaultStandIn>>;
let embedded: EmbeddedGatehouse;
let alice: TestClient;
const envLog = path.join(scratch.dir, 'per-call-env.jsonl');
const commandLog = path.join(scratch.dir, 'command.jsonl');
const logFile = path.join(scratch.dir, 'gatehouse.log');
const auditDir = path.join(scratch.dir, 'audit');
const storeFile = path.join(scratch.dir, 'store.json');
/** Every result alice got: none may show a credential. */
const results: CallToolResult[] = [];

async function call(name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  const result = (await alice.client.callTool({ name, arguments: args })) as CallToolResult;
  results.push(result);
  return result;
}

const lines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];

beforeAll(async () => {
  echo = await startHeadersEcho();
  oauth = await startTokenEndpoint();
  vault = await startVaultStandIn(VAULT_TOKEN);
  scratch.write('policies/credentials.yaml', POLICY);
  const config = scratch.write(
    'gatehouse.json',
    gatehouseConfig(
      {
        api: {
          url: echo.url,
          timeoutMs: 3_000,
          credentials: {
            reader: {
              source: { type: 'static', value: '${CREDS_E2E_READER}' },
              inject: { header: 'Authorization', prefix: 'Bearer ' },
            },
            deleter: {
              source: {
                type: 'oauth',
                grant: 'token_exchange',
                tokenUrl: `${oauth.url}/token`,
                revocationUrl: `${oauth.url}/revoke`,
                clientId: 'gatehouse',
                clientSecret: 'client-secret-e2e-0123456789',
                subjectToken: 'subject-token-e2e-0123456789',
                scope: "'items:delete:' + args.id",
                audience: "'items-api'",
                resource: "'https://items.example/items/' + args.id",
              },
              inject: { header: 'Authorization', prefix: 'Bearer ' },
            },
            db: {
              source: {
                type: 'vault',
                address: vault.url,
                token: VAULT_TOKEN,
                path: "'database/creds/' + args.role",
                field: 'password',
              },
              inject: { header: 'X-Db-Password' },
            },
            'missing-file': {
              source: { type: 'static', file: './no-such-secret' },
              inject: { header: 'Authorization' },
            },
          },
        },
        local: {
          ...fixtureServer('per-call-env', {}, envLog),
          startPerCall: true,
          credentials: {
            cli: {
              source: {
                type: 'command',
                command: process.execPath,
                args: [path.join(REPO, 'test/fixtures/credentials/print-token.mjs'), commandLog],
              },
              inject: { env: 'ECHO_TOKEN' },
            },
          },
        },
      },
      {
        policies: path.join(scratch.dir, 'policies'),
        log: { level: 'debug' },
        identity: { tokens: [{ token: ALICE_TOKEN, id: 'alice', groups: ['dev'] }] },
        approvals: { store: storeFile, sweepIntervalMs: 100 },
        audit: { dir: auditDir, keyFile: `${auditDir}.key` },
      },
    ),
  );
  embedded = await startEmbeddedGatehouse(config, { logFile });
  alice = await embedded.connect({ token: ALICE_TOKEN });
});

afterAll(async () => {
  await embedded?.stop();
  await Promise.all([echo?.close(), oauth?.close(), vault?.close()]);
  scratch.remove();
});

const approvals = () => embedded.gatehouse.approvals;
/** What the server received on its tools/call requests for `tool`: the credential headers only. */
const credentialHeadersOf = (tool: string) =>
  echo.calls(tool).map((r) => ({
    authorization: r.headers.authorization,
    'x-db-password': r.headers['x-db-password'],
  }));

async function approved(tool: string, args: Record<string, unknown>, rule: string) {
  const { approvalId } = expectPending(await call(tool, args), rule);
  await approve(approvals(), approvalId, BOB);
  return approvalId;
}

describe('a credential reaches the server on the one call its rule names', () => {
  it('an allowed call gets its static credential in a header on that request only', async () => {
    await alice.client.listTools();
    const result = await call('api__read', { id: '7' });
    expect(result.isError).toBeFalsy();
    expect(credentialHeadersOf('read')).toEqual([withDb({ authorization: `Bearer ${READER}` })]);
    // The server echoed it; Gatehouse passed on the answer without it.
    expect(resultText(result)).toBe(JSON.stringify({ authorization: 'Bearer [REDACTED:credential]' }));

    // Every other request to that server went without it: initialize, tools/list, other tools.
    await call('api__other', { id: '7' });
    expect(credentialHeadersOf('other')).toEqual([withDb({})]);
    const others = echo.received.filter((r) => !(r.method === 'tools/call' && r.tool === 'read'));
    expect(others.map((r) => r.method)).toEqual(expect.arrayContaining(['initialize', 'tools/list']));
    for (const request of others) expect(request.headers.authorization).toBeUndefined();
  });

  it('a denied call never reaches the server, and mints nothing', async () => {
    const before = echo.calls('read').length;
    expectDenied(await call('api__read', { id: 'forbidden' }), 'no-forbidden');
    expect(echo.calls('read')).toHaveLength(before);
  });

  it('an approved call gets a token exchanged for exactly the scope rendered from its arguments', async () => {
    const { approvalId } = expectPending(await call('api__delete', { id: '42' }), 'delete-one-item');
    // Pending: nothing minted, nothing sent.
    expect(oauth.tokenRequests).toHaveLength(0);
    expect(echo.calls('delete')).toHaveLength(0);

    await approve(approvals(), approvalId, BOB);
    const done = await reaches(approvals(), approvalId, 'executed');
    expect(oauth.tokenRequests).toEqual([
      {
        form: {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: 'subject-token-e2e-0123456789',
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          scope: 'items:delete:42',
          audience: 'items-api',
          resource: 'https://items.example/items/42',
        },
        authorization: `Basic ${Buffer.from('gatehouse:client-secret-e2e-0123456789').toString('base64')}`,
      },
    ]);
    expect(credentialHeadersOf('delete')).toEqual([withDb({ authorization: `Bearer ${oauth.issued[0]}` })]);
    // Revoked after the call.
    expect(oauth.revoked).toEqual([oauth.issued[0]]);
    expect(JSON.stringify(done.execution)).not.toContain(oauth.issued[0]);

    // The identical retry is answered from the stored outcome: no new token, no new call.
    const retry = await call('api__delete', { id: '42' });
    expect(resultText(retry)).toContain('[REDACTED:credential]');
    expect(oauth.tokenRequests).toHaveLength(1);
    expect(echo.calls('delete')).toHaveLength(1);
    // A second approval of the executed request is refused and mints nothing.
    await expect(approve(approvals(), approvalId, { id: 'carol', groups: ['reviewers'] })).rejects.toThrow();
    expect(oauth.tokenRequests).toHaveLength(1);

    // Other arguments: a new approval, a new scope.
    await reaches(approvals(), await approved('api__delete', { id: '43' }, 'delete-one-item'), 'executed');
    expect(oauth.tokenRequests.map((r) => r.form.scope)).toEqual(['items:delete:42', 'items:delete:43']);
    expect(credentialHeadersOf('delete')[1]).toEqual(withDb({ authorization: `Bearer ${oauth.issued[1]}` }));
    expect(oauth.issued[1]).not.toBe(oauth.issued[0]);
  });
});

describe('Vault dynamic secrets: one lease per approved execution, revoked after it', () => {
  it('a successful call reads one lease and revokes it', async () => {
    const id = await approved('api__query', { role: 'readonly' }, 'query-db');
    await reaches(approvals(), id, 'executed');
    expect(vault.leases.map((l) => l.role)).toEqual(['readonly']);
    expect(credentialHeadersOf('query')).toEqual([withDb({}, vault.leases[0]!.password)]);
    expect(vault.revoked).toEqual([vault.leases[0]!.leaseId]);
  });

  /** An approved call to `tool` that fails with `code`, the lease it was given, and that lease revoked. */
  async function failsWithLeaseRevoked(tool: string, role: string, code: string) {
    const id = await approved(`api__${tool}`, { role }, 'query-db');
    const failed = await reaches(approvals(), id, 'failed');
    expect(failed.execution?.error?.code).toBe(code);
    const lease = vault.leases.find((l) => l.role === role)!;
    expect(credentialHeadersOf(tool)).toEqual([withDb({}, lease.password)]);
    expect(vault.revoked).toContain(lease.leaseId);
    return { message: failed.execution?.error?.message ?? '', lease };
  }

  it('a call the server times out on still has its lease revoked', async () => {
    await failsWithLeaseRevoked('slow', 'reporting', 'DOWNSTREAM_TIMEOUT');
    expect(vault.leases).toHaveLength(2);
  });

  it('a call the server fails still has its lease revoked, and the error does not show it', async () => {
    const { message, lease } = await failsWithLeaseRevoked('crash', 'analytics', 'DOWNSTREAM_UNAVAILABLE');
    expect(message).toContain('HTTP 500');
    expect(message).toContain('[REDACTED:credential]');
    expect(message).not.toContain(lease.password);
    expect(vault.leases).toHaveLength(3);
  });

  it('a lease Vault refuses fails the call closed: never sent, readable, audited', async () => {
    const id = await approved('api__query', { role: 'broken' }, 'query-db');
    const failed = await reaches(approvals(), id, 'failed');
    expect(failed.execution?.error?.code).toBe('CREDENTIAL_UNAVAILABLE');
    expect(failed.execution?.error?.message).toContain('permission denied');
    expect(failed.execution?.error?.message).toContain('The call was not executed');
    expect(echo.calls('query')).toHaveLength(1);
    const events = await auditEvents(auditDir);
    const record = events.find((e) => e.event === 'call.failed' && e.callId === id);
    expect(record).toMatchObject({
      reachedServer: false,
      error: { code: 'CREDENTIAL_UNAVAILABLE' },
      credentialsUsed: [{ name: 'db', source: 'vault', scopeDigest: expect.stringMatching(/^sha256:/) }],
    });
  });

  it('a call the client cancels still has its lease revoked', async () => {
    const controller = new AbortController();
    const pending = alice.client.callTool(
      { name: 'api__wait', arguments: { role: 'cancelled' } },
      undefined,
      {
        signal: controller.signal,
      },
    );
    await eventually(() => echo.calls('wait').length === 1, 'the server received the call');
    const lease = vault.leases.find((l) => l.role === 'cancelled')!;
    expect(credentialHeadersOf('wait')).toEqual([withDb({}, lease.password)]);
    controller.abort('changed my mind');
    await expect(pending).rejects.toThrow();
    await eventually(() => vault.revoked.includes(lease.leaseId), 'the lease is revoked');
  });
});

describe('failures fail closed, and errors do not show the credential', () => {
  it('an allowed call whose credential cannot be minted is not executed; the model reads why', async () => {
    const result = await call('api__unissued', { id: '1' });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toContain('could not be minted');
    expect(resultText(result)).toContain('no-such-secret');
    expect(echo.calls('unissued')).toHaveLength(0);
  });

  it('a server error that quotes the credential reaches the model scrubbed', async () => {
    const result = await call('api__broken', { id: '2' });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toContain('[REDACTED:credential]');
    expect(resultText(result)).not.toContain(READER);
    expect(credentialHeadersOf('broken')).toEqual([withDb({ authorization: `Bearer ${READER}` })]);
  });

  it('base64 and URL-encoded forms are scrubbed too, and the record says the scrubber fired', async () => {
    const result = await call('api__leak', { id: '3' });
    const text = resultText(result);
    expect(text.split('\n')).toHaveLength(5);
    expect(text.split('\n').every((line) => line.includes('[REDACTED:credential]'))).toBe(true);
    // An allowed call's records share group commits: read once it is on disk.
    let executed: Awaited<ReturnType<typeof auditEvents>> = [];
    await eventually(async () => {
      executed = (await auditEvents(auditDir)).filter(
        (e) => e.event === 'call.executed' && e.tool === 'leak',
      );
      return executed.length === 1;
    }, 'the record of the leak call is written');
    expect(executed[0]).toMatchObject({
      credentialsUsed: [{ name: 'reader', source: 'static' }],
      credentialsScrubbed: expect.any(Number),
    });
  });
});

describe('a stdio server runs a call with a credential in a process of its own', () => {
  it('the per-call process has the variable; the long-lived one never does', async () => {
    const plain = JSON.parse(resultText(await call('local__whoami'))) as { pid: number; token: null };
    const longLived = embedded.gatehouse.status().servers.find((s) => s.name === 'local')!.pid;
    expect(plain).toEqual({ pid: longLived, token: null });

    const elevated = JSON.parse(resultText(await call('local__whoami', { elevated: true }))) as {
      pid: number;
      token: string;
    };
    expect(elevated.pid).not.toBe(longLived);
    expect(elevated.token).toBe('[REDACTED:credential]');
    const [command] = lines(commandLog) as { input: Record<string, unknown>; token: string }[];
    // The command got the call as JSON on stdin, and its token reached that process only.
    expect(command!.input).toMatchObject({
      server: 'local',
      tool: 'whoami',
      arguments: { elevated: true },
      caller: { id: 'alice' },
    });
    expect(lines(envLog)).toEqual([
      { pid: longLived, token: null },
      { pid: elevated.pid, token: command!.token },
    ]);
    expect(isAlive(elevated.pid)).toBe(false);
    // And the long-lived process still has none.
    await call('local__whoami');
    expect(lines(envLog).at(-1)).toEqual({ pid: longLived, token: null });
  });
});

describe('the audit trail records the source, the lease and the scope, never the value', () => {
  it('records each execution’s credentials', async () => {
    let executed: Awaited<ReturnType<typeof auditEvents>> = [];
    await eventually(async () => {
      executed = (await auditEvents(auditDir)).filter((e) => e.event === 'call.executed');
      return executed.some((e) => (e as { tool?: string }).tool === 'other');
    }, 'the records of the allowed calls are written');
    const uses = (tool: string) =>
      executed
        .filter((e) => (e as { tool?: string }).tool === tool)
        .map((e) => (e as { credentialsUsed?: unknown }).credentialsUsed);
    expect(uses('other')).toEqual([undefined]);
    expect(uses('delete')).toEqual([
      [{ name: 'deleter', source: 'oauth', scopeDigest: expect.stringMatching(/^sha256:/), revoked: true }],
      [{ name: 'deleter', source: 'oauth', scopeDigest: expect.stringMatching(/^sha256:/), revoked: true }],
    ]);
    // As `gatehouse audit show` and the SIEM copy tell it.
    const query = executed.find((e) => (e as { tool?: string }).tool === 'query')!;
    expect(describeEvent(query)).toContain(
      `; with credential db (vault, lease ${vault.leases[0]!.leaseId}, revoked)`,
    );
    const [first, second] = uses('delete') as { scopeDigest: string }[][];
    expect(first![0]!.scopeDigest).not.toBe(second![0]!.scopeDigest);
    expect(uses('query')).toEqual([
      [
        {
          name: 'db',
          source: 'vault',
          leaseId: vault.leases[0]!.leaseId,
          scopeDigest: expect.stringMatching(/^sha256:/),
          revoked: true,
        },
      ],
    ]);
  });

  it('no canary appears in any output: results, log, audit trail, store', async () => {
    const canaries = [
      READER,
      ...oauth.issued,
      ...vault.leases.map((l) => l.password),
      ...lines(commandLog).map((l) => l.token as string),
    ];
    // The static one, two OAuth tokens, four Vault passwords, the command's token.
    expect(canaries).toHaveLength(8);
    const forms = canaries.flatMap((c) => [c, Buffer.from(c).toString('base64')]);
    const outputs: [string, string][] = [
      ['results', JSON.stringify(results)],
      ['log', readFileSync(logFile, 'utf8')],
      ['store', readFileSync(storeFile, 'utf8')],
      ...filesUnder(auditDir).map((f): [string, string] => [f, readFileSync(f, 'utf8')]),
    ];
    for (const [where, text] of outputs)
      for (const form of forms) expect(text.includes(form), `${where} holds ${form}`).toBe(false);
    // The log did see the values go by (the server echoed them), and said only that it scrubbed them.
    expect(readFileSync(logFile, 'utf8')).toContain("a credential's value was removed from a tool result");
    expect(embedded.gatehouse.status().credentials.scrubbed).toBeGreaterThan(10);
    // The per-call process printed its token to stderr; the log has the line, scrubbed.
    expect(readFileSync(logFile, 'utf8')).toContain('whoami: ECHO_TOKEN=[REDACTED:credential]');
  });
});

/** The echo of a request that carried `headers`, and `x-db-password` when given. */
function withDb(headers: { authorization?: string }, password?: string) {
  return { authorization: headers.authorization, 'x-db-password': password };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}
