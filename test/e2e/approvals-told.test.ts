import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateTaskResultSchema,
  type CallToolResult,
  type LoggingMessageNotification,
  type Notification,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { connectTestClient, type TestClient, type TestClientOptions } from '../helpers/client.js';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { startEmbeddedGatehouse } from '../helpers/embedded.js';
import {
  BOB,
  CAROL,
  TOKENS,
  approvalSetUp,
  approve,
  approverApi,
  expectPending,
  gatedGatehouse,
  reaches,
  reject,
} from '../helpers/gated.js';
import { connectStdioGatehouse, logEntries, loggedEntry } from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';

/**
 * Everyone told: the requester learns where its request is decided (the page's URL in the pending
 * result, `_meta`, the follow-up tools, the task and the log) and how it ended, as an MCP log message
 * to the session that asked (or, once that has closed, to the caller's other sessions; never to anyone
 * else), within each session's logging level. A call that ran but whose tool reported an error reads
 * as such everywhere. The requester is the SDK's real Client over Streamable HTTP and over stdio.
 */

const gated = gatedGatehouse(scratchDir('approvals-told'), 'told');
const { setUp } = gated;

/** Outside server-filesystem's folder: the tool refuses it with an isError result, after approval. */
const OUTSIDE = '/gatehouse-told-outside/denied.txt';

/**
 * A Streamable HTTP client whose GET stream is open when this resolves: Gatehouse's notices belong to
 * no request and travel on that stream, which the SDK opens on its own after initialize.
 */
async function connectWithStream(
  mcpUrl: string,
  token: string,
  options: TestClientOptions = {},
): Promise<TestClient & { end(): Promise<void> }> {
  let opened!: () => void;
  const streamOpen = new Promise<void>((resolve) => (opened = resolve));
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'GET' && response.ok) opened();
      return response;
    },
  });
  const client = await connectTestClient(transport, options);
  await streamOpen;
  // Closing the SDK client only drops its streams; DELETE ends the session on the server.
  return { ...client, end: () => transport.terminateSession().then(() => client.close()) };
}

const clients: TestClient[] = [];
async function requester(token: string = TOKENS.alice, options: TestClientOptions = {}) {
  const client = await connectWithStream(gated.embedded.mcpUrl, token, options);
  clients.push(client);
  return client;
}
afterAll(() => Promise.allSettled(clients.map((c) => c.close())));

const deploy = async (client: TestClient, build: string) =>
  expectPending(
    (await client.client.callTool({ name: 'rec__deploy', arguments: { build } })) as CallToolResult,
    'deploy',
  );

type Notice = LoggingMessageNotification['params'] & {
  data: { message: string; approvalId: string; status: string; outcome?: string; url?: string };
};
const isNotice = (n: Notification) =>
  n.method === 'notifications/message' && (n.params as { logger?: string }).logger === 'gatehouse';
const noticesOf = (client: TestClient, approvalId?: string): Notice[] =>
  client.notifications
    .filter(isNotice)
    .map((n) => n.params as Notice)
    .filter((p) => approvalId === undefined || p.data.approvalId === approvalId);

/** The notice `client` gets when approval `id` reaches `status`. */
async function noticeOf(client: TestClient, id: string, status: string): Promise<Notice> {
  const found = await client.waitForNotification(
    'notifications/message',
    (n) => isNotice(n) && noticesOf(client, id).some((p) => p.data.status === status),
  );
  expect(found).toBeDefined();
  return noticesOf(client, id).find((p) => p.data.status === status)!;
}

const pageOf = (id: string) => `${gated.url}/approvals/${id}`;

describe('the request page URL', () => {
  it('is in the pending result, its _meta, the follow-up tools, the task and the "approval requested" log line', async () => {
    const alice = await requester();
    const pending = expectPending(
      (await alice.client.callTool({
        name: 'rec__deploy',
        arguments: { build: 'u1' },
      })) as CallToolResult,
      'deploy',
    );
    const url = pageOf(pending.approvalId);
    expect(pending.url).toBe(url);
    const status = (await alice.client.callTool({
      name: 'gatehouse__approval_status',
      arguments: { approvalId: pending.approvalId },
    })) as CallToolResult;
    expect(resultText(status)).toContain(`Approvers decide on its page: ${url}.`);
    expect(status._meta?.['gatehouse/approval']).toMatchObject({ url });

    const logged = await loggedEntry(
      () => readFileSync(setUp.logFile, 'utf8'),
      (e) => e.msg === 'approval requested' && e.approvalId === pending.approvalId,
      'the "approval requested" log line',
    );
    expect(logged.url).toBe(url);

    // The link leads to the page (signed out: to the sign-in form that returns there).
    const opened = await fetch(url, { redirect: 'manual' });
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toContain(encodeURIComponent(`/approvals/${pending.approvalId}`));

    const tasker = await requester(TOKENS.alice, { tasks: true });
    const { task } = await tasker.client.request(
      {
        method: 'tools/call',
        params: { name: 'rec__deploy', arguments: { build: 'u1-task' }, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema,
    );
    expect(task.status).toBe('input_required');
    const [request] = await gated.approvals
      .list({ states: ['pending'] })
      .then((all) => all.filter((r) => r.arguments.build === 'u1-task'));
    expect(task.statusMessage).toContain(`Approvers decide on its page: ${pageOf(request!.id)}`);
  });
});

describe('the requester is told the outcome', () => {
  it('in the session that asked; once that has closed, in the caller’s other session; never another caller’s', async () => {
    const asking = await requester();
    const other = await requester();
    const mallory = await requester(TOKENS.mallory);

    const first = await deploy(asking, 'n1');
    const second = await deploy(asking, 'n2');
    await approve(gated.approvals, first.approvalId, BOB);
    const approved = await noticeOf(asking, first.approvalId, 'approved');
    expect(approved).toMatchObject({ level: 'info', logger: 'gatehouse' });
    expect(approved.data.message).toContain('was approved by bob');
    const executed = await noticeOf(asking, first.approvalId, 'executed');
    expect(executed).toMatchObject({
      level: 'info',
      data: { approvalId: first.approvalId, outcome: 'executed', url: pageOf(first.approvalId) },
    });
    expect(executed.data.message).toContain('rec__deploy');
    expect(executed.data.message).toContain('gatehouse__approval_status');

    // The asking session ends: the caller's other open session hears of the second request.
    const open = gated.embedded.gatehouse.status().sessions.open;
    await asking.end();
    await eventually(
      () => gated.embedded.gatehouse.status().sessions.open === open - 1,
      'the ended session is gone',
    );
    await reject(gated.approvals, second.approvalId, CAROL, 'not on a Friday');
    const rejected = await noticeOf(other, second.approvalId, 'rejected');
    expect(rejected).toMatchObject({ level: 'warning', data: { outcome: 'rejected' } });
    expect(rejected.data.message).toContain('rejected by carol: not on a Friday');

    // Its own request's notice comes after: by then it would have had the first request's, had it been sent.
    const own = await deploy(other, 'n3');
    await reject(gated.approvals, own.approvalId, CAROL, 'no');
    await noticeOf(other, own.approvalId, 'rejected');
    expect(noticesOf(other, first.approvalId)).toEqual([]);

    // Another caller hears only of its own requests.
    const hers = await deploy(mallory, 'm1');
    await reject(gated.approvals, hers.approvalId, CAROL, 'no');
    await noticeOf(mallory, hers.approvalId, 'rejected');
    expect(noticesOf(mallory).map((n) => n.data.approvalId)).toEqual([hers.approvalId]);
  });

  it('within the session’s logging level: at warning, an approval and its execution are not told, a rejection is', async () => {
    const quiet = await requester();
    await quiet.client.setLoggingLevel('warning');
    const executed = await deploy(quiet, 'q1');
    await approve(gated.approvals, executed.approvalId, BOB);
    await reaches(gated.approvals, executed.approvalId, 'executed');
    const rejected = await deploy(quiet, 'q2');
    await reject(gated.approvals, rejected.approvalId, BOB, 'no');
    await noticeOf(quiet, rejected.approvalId, 'rejected');
    expect(noticesOf(quiet, executed.approvalId)).toEqual([]);
  });

  it('a task call: the task status notification ends completed, with the outcome, beside the log notice', async () => {
    const tasker = await requester(TOKENS.alice, { tasks: true });
    const { task } = await tasker.client.request(
      {
        method: 'tools/call',
        params: { name: 'rec__deploy', arguments: { build: 't1' }, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema,
    );
    const request = (await gated.approvals.list({ states: ['pending'] })).find(
      (r) => r.arguments.build === 't1',
    )!;
    await approve(gated.approvals, request.id, BOB);
    const status = await tasker.waitForNotification(
      'notifications/tasks/status',
      (n) =>
        (n.params as { taskId?: string; status?: string }).taskId === task.taskId &&
        (n.params as { status?: string }).status === 'completed',
    );
    expect(status.params).toMatchObject({ statusMessage: `approval ${request.id}: executed` });
    expect((await noticeOf(tasker, request.id, 'executed')).data.outcome).toBe('executed');
  });
});

describe('a call that ran but whose tool reported an error', () => {
  it('is told as such to the requester, fails its task, and reads so in the API list and single view', async () => {
    const alice = await requester(TOKENS.alice, { tasks: true });
    const pending = expectPending(
      (await alice.client.callTool({
        name: 'fs__write_file',
        arguments: { path: OUTSIDE, content: 'x' },
      })) as CallToolResult,
      'fs-write',
      true,
    );
    await approve(gated.approvals, pending.approvalId, BOB);
    const executed = await reaches(gated.approvals, pending.approvalId, 'executed');
    expect(executed.execution?.result?.isError).toBe(true);
    const toolSaid = (executed.execution!.result!.content as { text: string }[])[0]!.text;

    const notice = await noticeOf(alice, pending.approvalId, 'executed');
    expect(notice).toMatchObject({ level: 'warning', data: { outcome: 'executed-with-tool-error' } });
    expect(notice.data.message).toContain('executed, the tool reported an error');
    expect(notice.data.message).toContain(toolSaid.slice(0, 40));

    const bob = await gated.api.as(BOB);
    const one = await bob.get(pending.approvalId);
    expect(one.json.approval.outcome).toEqual({
      kind: 'executed-with-tool-error',
      text: 'executed, the tool reported an error',
      detail: toolSaid,
    });
    const listed = (await bob.list('executed')).json.approvals.find(
      (a: { id: string }) => a.id === pending.approvalId,
    );
    expect(listed.outcome.kind).toBe('executed-with-tool-error');

    // Run as a task, the same call ends the task failed.
    const { task } = await alice.client.request(
      {
        method: 'tools/call',
        params: {
          name: 'fs__write_file',
          arguments: { path: OUTSIDE, content: 'as a task' },
          task: { ttl: 60_000 },
        },
      },
      CreateTaskResultSchema,
    );
    const request = (await gated.approvals.list({ states: ['pending'] })).find(
      (r) => r.arguments.content === 'as a task',
    )!;
    await approve(gated.approvals, request.id, BOB);
    const ended = await alice.waitForNotification('notifications/tasks/status', (n) => {
      const params = n.params as { taskId?: string; status?: string };
      return params.taskId === task.taskId && ['completed', 'failed'].includes(params.status!);
    });
    expect(ended.params).toMatchObject({
      status: 'failed',
      statusMessage: `approval ${request.id}: executed, the tool reported an error`,
    });
  });
});

describe('after a restart', () => {
  const scratch = scratchDir('approvals-told-restart');
  const restartSetUp = approvalSetUp(scratch, 'restart');
  afterAll(() => scratch.remove());

  it('the requester’s new session is told the outcome of a request an earlier process took', async () => {
    const before = await startEmbeddedGatehouse(restartSetUp.config, { logFile: restartSetUp.logFile });
    let id: string;
    try {
      const alice = await before.connect({ token: TOKENS.alice });
      id = expectPending(
        (await alice.client.callTool({
          name: 'rec__deploy',
          arguments: { build: 'r1' },
        })) as CallToolResult,
        'deploy',
      ).approvalId;
    } finally {
      await before.stop();
    }
    const after = await startEmbeddedGatehouse(restartSetUp.config, { logFile: restartSetUp.logFile });
    try {
      const alice = await connectWithStream(after.mcpUrl, TOKENS.alice);
      try {
        await approve(after.gatehouse.approvals, id, BOB);
        const notice = await noticeOf(alice, id, 'executed');
        expect(notice.data.url).toBe(`${after.gatehouse.http!.url}/approvals/${id}`);
      } finally {
        await alice.close();
      }
    } finally {
      await after.stop();
    }
  });
});

describe('on stdio', () => {
  const scratch = scratchDir('approvals-told-stdio');
  afterAll(() => scratch.remove());

  it('the result links to the page on the listener, where an approver decides, and the client is told', async () => {
    const { config } = approvalSetUp(scratch, 'stdio');
    const stdio = await connectStdioGatehouse(config);
    try {
      const pending = expectPending(
        (await stdio.client.client.callTool({
          name: 'rec__deploy',
          arguments: { build: 's1' },
        })) as CallToolResult,
        'deploy',
      );
      const url = new URL(pending.url!);
      expect(url.pathname).toBe(`/approvals/${pending.approvalId}`);
      const logged = await loggedEntry(
        stdio.stderr,
        (e) => e.msg === 'approval requested',
        'the "approval requested" log line',
      );
      expect(logged.url).toBe(pending.url);

      const bob = await approverApi(url.origin).as(BOB);
      expect((await bob.decide(pending.approvalId, 'approve')).status).toBe(200);
      const notice = await noticeOf(stdio.client, pending.approvalId, 'executed');
      expect(notice.data.url).toBe(pending.url);
    } finally {
      await stdio.client.close();
    }
  });

  it('without a listener (its port taken) says the page is unavailable instead of giving a dead link', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const { config } = approvalSetUp(scratch, 'busy', { http: { port } });
    const stdio = await connectStdioGatehouse(config);
    try {
      const result = (await stdio.client.client.callTool({
        name: 'rec__deploy',
        arguments: { build: 's2' },
      })) as CallToolResult;
      const pending = expectPending(result, 'deploy');
      expect(pending.url).toBeUndefined();
      expect(resultText(result)).toContain('the approval page is unavailable');
      expect(resultText(result)).not.toContain(`127.0.0.1:${port}`);
      const logged = await loggedEntry(
        stdio.stderr,
        (e) => e.msg === 'approval requested',
        'the "approval requested" log line',
      );
      expect(logged.url).toBeUndefined();
      expect(logged.page).toContain('the approval page is unavailable');
      expect(logEntries(stdio.stderr()).some((e) => e.msg === 'status endpoint not started')).toBe(true);
    } finally {
      await stdio.client.close();
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
