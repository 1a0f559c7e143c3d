import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ApprovalRequest, ApprovalState } from '../../src/approvals/request.js';
import type { ApprovalStatus } from '../../src/approvals/results.js';
import type { ApprovalService } from '../../src/approvals/service.js';
import { isTerminal, type DecisionInput } from '../../src/approvals/states.js';
import { randomUUID } from 'node:crypto';
import { hashPassword } from '../../src/approvals/web/auth/password.js';
import type { TestClient } from './client.js';
import { connectHttpAs, startEmbeddedGatehouse, type EmbeddedGatehouse } from './embedded.js';
import { startHttpGatehouse } from './gatehouse.js';
import { resultText } from './compare.js';
import {
  filesystemStdio,
  fixtureServer,
  gatehouseConfig,
  recorderServer,
  type RecordedCall,
  type scratchDir,
} from './config.js';
import { expectHeldForApproval } from './decisions.js';
import { REPO } from './paths.js';
import { eventually } from './processes.js';

/**
 * The cast and the set-up of the approval scenarios (fixtures/policies/approvals): alice calls through
 * Gatehouse with her bearer token; bob (group reviewers) and carol may approve; dave may not; mallory
 * is another caller. alice, bob, carol and dave have local approver accounts (`passwordOf`), so each
 * can sign in to the approval page and API.
 */

export const APPROVAL_POLICIES = path.join(REPO, 'fixtures/policies/approvals');

export const TOKENS = { alice: 'alice-token-0123456789', mallory: 'mallory-token-0123456789' } as const;

export const ALICE = { id: 'alice', groups: ['dev'] };
export const BOB = { id: 'bob', groups: ['reviewers'] };
export const CAROL = { id: 'carol', groups: [] };
export const DAVE = { id: 'dave', groups: ['dev'] };

/** The local account password of one of the cast. */
export const passwordOf = (who: { id: string }) => `${who.id}-password-e2e`;

// The cheapest cost the password format takes: sign-ins stay fast.
const CHEAP = { ln: 10, r: 8, p: 1 };
const ACCOUNTS = await Promise.all(
  [ALICE, BOB, CAROL, DAVE].map(async (who) => ({
    ...who,
    passwordHash: await hashPassword(passwordOf(who), CHEAP),
  })),
);

type Scratch = ReturnType<typeof scratchDir>;

/**
 * A config in `scratch` with server-filesystem on `<scratch>/files` (`fs`), the recorder (`rec`) and the
 * shapeshifter (`shape`), each logging the calls it received; its own store file; expiries swept fast;
 * the cast's approver accounts. `logFile` is where an embedded Gatehouse should log.
 */
export function approvalSetUp(scratch: Scratch, name: string, extra: Record<string, unknown> = {}) {
  const files = path.join(scratch.dir, `${name}-files`);
  scratch.write(`${name}-files/.keep`, '');
  const recorder = recorderServer(path.join(scratch.dir, `${name}-rec.jsonl`));
  const shapeLog = path.join(scratch.dir, `${name}-shape.jsonl`);
  const store = path.join(scratch.dir, `${name}-store.json`);
  const audit = path.join(scratch.dir, `${name}-audit`);
  const config = scratch.write(
    `${name}.json`,
    gatehouseConfig(
      {
        fs: filesystemStdio(files),
        rec: recorder.server,
        shape: fixtureServer('shapeshifter', {}, shapeLog),
      },
      {
        policies: APPROVAL_POLICIES,
        identity: {
          user: 'alice',
          groups: ALICE.groups,
          tokens: [
            { token: TOKENS.alice, ...ALICE },
            { token: TOKENS.mallory, id: 'mallory' },
          ],
        },
        approvals: { store, sweepIntervalMs: 100 },
        ...extra,
        approvers: { accounts: ACCOUNTS, ...(extra.approvers as object | undefined) },
        audit: { dir: audit, keyFile: `${audit}.key`, ...(extra.audit as object | undefined) },
      },
    ),
  );
  return { config, files, recorder, shapeLog, store, audit, logFile: path.join(scratch.dir, `${name}.log`) };
}

/** What a test file holds of its gated Gatehouse; the fields are set once beforeAll has run. */
export interface GatedGatehouse {
  setUp: ReturnType<typeof approvalSetUp>;
  embedded: EmbeddedGatehouse;
  approvals: ApprovalService;
  /** Gatehouse's own listener, `http://127.0.0.1:<port>`: /mcp, the approval page and API. */
  url: string;
  /** The approval JSON API on that listener. */
  api: ApproverApi;
  /** A client with alice's bearer token. */
  alice: TestClient;
  /** tools/call from alice, or from `client`. */
  call(name: string, args?: Record<string, unknown>, client?: TestClient): Promise<CallToolResult>;
  /** alice's fs__write_file of `content` to `file` in server-filesystem's folder (`setUp.files`). */
  writeFile(file: string, content: string): Promise<CallToolResult>;
}

/**
 * An in-process Gatehouse on `approvalSetUp(scratch, name, extra)` for one test file: started with
 * alice connected in beforeAll, stopped (and `scratch` removed) in afterAll.
 */
export function gatedGatehouse(scratch: Scratch, name: string, extra: Record<string, unknown> = {}) {
  const gated = {
    setUp: approvalSetUp(scratch, name, extra),
    call: (tool, args = {}, client = gated.alice) =>
      client.client.callTool({ name: tool, arguments: args }) as Promise<CallToolResult>,
    writeFile: (file, content) =>
      gated.call('fs__write_file', { path: path.join(gated.setUp.files, file), content }),
  } as GatedGatehouse;
  beforeAll(async () => {
    gated.embedded = await startEmbeddedGatehouse(gated.setUp.config, { logFile: gated.setUp.logFile });
    gated.approvals = gated.embedded.gatehouse.approvals;
    gated.url = gated.embedded.gatehouse.http!.url;
    gated.api = approverApi(gated.url);
    gated.alice = await gated.embedded.connect({ token: TOKENS.alice });
  });
  afterAll(async () => {
    await gated.embedded?.stop();
    scratch.remove();
  });
  return gated;
}

/**
 * A gated call answered at once with its pending request: the text says it has NOT run and how to follow
 * it, `_meta` (and structuredContent, unless the tool has an outputSchema, when it is an isError result
 * instead) carries `{status: 'pending', approvalId, expiresAt}`. Returns that status.
 */
export function expectPending(result: CallToolResult, rule: string, hasOutputSchema = false): ApprovalStatus {
  const status = expectHeldForApproval(result, rule) as unknown as ApprovalStatus;
  expect(status).toMatchObject({
    status: 'pending',
    approvalId: expect.any(String),
    expiresAt: expect.any(String),
  });
  const text = resultText(result);
  expect(text).toContain('has NOT run yet');
  expect(text).toContain(status.approvalId);
  expect(text).toContain(status.expiresAt);
  expect(text).toContain('gatehouse__approval_status');
  if (hasOutputSchema) {
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
  } else {
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual(status);
  }
  return status;
}

/** An isError result that says the call did not run, containing each of `phrases`. */
export function expectNotRun(result: CallToolResult, ...phrases: string[]) {
  expect(result.isError).toBe(true);
  const text = resultText(result);
  expect(text).toMatch(/did NOT run|did not run|NOT executed/);
  for (const phrase of phrases) expect(text).toContain(phrase);
}

export const approve = (approvals: ApprovalService, id: string, approver: DecisionInput['approver']) =>
  approvals.decide(id, { approver, decision: 'approve', channel: 'test' });

export const reject = (
  approvals: ApprovalService,
  id: string,
  approver: DecisionInput['approver'],
  reason: string,
) => approvals.decide(id, { approver, decision: 'reject', reason, channel: 'test' });

/** The request once it has reached `state`; fails at once when it ends in another state. */
export async function reaches(
  approvals: ApprovalService,
  id: string,
  state: ApprovalState,
): Promise<ApprovalRequest> {
  let request: ApprovalRequest | undefined;
  await eventually(
    async () => {
      request = await approvals.get(id);
      if (request && request.state !== state && isTerminal(request.state)) {
        throw new Error(
          `approval ${id} ended ${request.state}, not ${state}: ${JSON.stringify(request.execution ?? request.closed)}`,
        );
      }
      return request?.state === state;
    },
    () => `approval ${id} is ${state} (it is ${request?.state})`,
  );
  return request!;
}

/**
 * The calls the recorder has received, echoes left out, complete up to now: a fresh allowed echo from
 * `client` reached it after every call the test already saw answered or executed, and the recorder
 * logs a call before it handles it.
 */
export async function receivedSoFar(
  client: TestClient,
  recorder: { received(): RecordedCall[] },
): Promise<RecordedCall[]> {
  const marker = randomUUID();
  const echo = await client.client.callTool({ name: 'rec__echo', arguments: { message: marker } });
  expect(resultText(echo)).toBe(marker);
  const calls = recorder.received();
  expect(calls).toContainEqual({ name: 'echo', arguments: { message: marker } });
  return calls.filter((c) => c.name !== 'echo');
}

export type ApproverApi = ReturnType<typeof approverApi>;

/**
 * The approval JSON API of the Gatehouse listening at `url`. `as(who)` signs one of the cast in with
 * their local account through POST /api/tokens and returns that approver's client.
 */
export function approverApi(url: string) {
  async function send(method: string, path: string, authorization: string, body?: unknown) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  return {
    async as(who: { id: string }) {
      const basic = Buffer.from(`${who.id}:${passwordOf(who)}`).toString('base64');
      const issued = await send('POST', '/api/tokens', `Basic ${basic}`, { label: 'e2e' });
      expect(issued.status).toBe(201);
      const bearer = `Bearer ${issued.json.token as string}`;
      return {
        list: (state: ApprovalState) => send('GET', `/api/approvals?state=${state}`, bearer),
        get: (id: string) => send('GET', `/api/approvals/${id}`, bearer),
        decide: (id: string, decision: 'approve' | 'reject', reason?: string) =>
          send('POST', `/api/approvals/${id}/decision`, bearer, { decision, ...(reason ? { reason } : {}) }),
      };
    },
  };
}

/**
 * A spawned HTTP Gatehouse on `config` in which alice asks for one `rec__deploy` of each build, each
 * answered pending; then it is stopped with `signal`. The approval ids, by build.
 */
export async function pendingDeploys(
  config: string,
  builds: readonly string[],
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  const gatehouse = await startHttpGatehouse(config);
  try {
    const alice = await connectHttpAs(gatehouse.mcpUrl, { token: TOKENS.alice });
    for (const build of builds) {
      const result = (await alice.client.callTool({
        name: 'rec__deploy',
        arguments: { build },
      })) as CallToolResult;
      ids[build] = expectPending(result, 'deploy').approvalId;
    }
    if (signal === 'SIGTERM') await alice.close();
  } finally {
    await gatehouse.stop(signal);
  }
  return ids;
}
