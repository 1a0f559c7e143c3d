import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/config.js';
import { startEmbeddedGatehouse, type EmbeddedGatehouse } from '../helpers/embedded.js';
import { BOB, TOKENS, approvalSetUp, approve, reaches, reject } from '../helpers/gated.js';
import { gatehouseArgs, spawnEnv } from '../helpers/gatehouse.js';
import {
  WITH_TASKS,
  modernHttpClient,
  modernStdioClient,
  type ModernClient,
} from '../helpers/modernClient.js';
import { eventually } from '../helpers/processes.js';
import type { Json } from '../helpers/rawClient.js';

/**
 * Approvals as tasks of the Tasks extension, end to end: a 2026-07-28 client that declares
 * io.modelcontextprotocol/tasks gets a task for a held call at once, follows it with tasks/get while
 * people decide, and gets the real result, a failure with the reason, or its own cancellation. Tasks
 * are the approval requests in the store: they survive a restart and belong to their caller alone.
 */

const scratch = scratchDir('era2026-tasks');
const setUp = approvalSetUp(scratch, 'tasks');
let embedded: EmbeddedGatehouse | undefined;
let alice: ModernClient;
let mallory: ModernClient;

async function start() {
  await embedded?.stop();
  embedded = await startEmbeddedGatehouse(setUp.config, { logFile: setUp.logFile });
  alice = modernHttpClient(embedded.mcpUrl, { token: TOKENS.alice });
  mallory = modernHttpClient(embedded.mcpUrl, { token: TOKENS.mallory });
}
beforeAll(start);
afterAll(async () => {
  await embedded?.stop();
  scratch.remove();
});

const approvals = () => embedded!.gatehouse.approvals;
const deploy = (build: string, client = alice, capabilities: object = WITH_TASKS) =>
  client.call('tools/call', { name: 'rec__deploy', arguments: { build } }, { capabilities });
const getTask = (taskId: string, client = alice) =>
  client.call('tasks/get', { taskId }, { capabilities: WITH_TASKS });
const deploysOf = (build: string) =>
  setUp.recorder.received().filter((c) => c.name === 'deploy' && c.arguments.build === build).length;

/** The task once its status is `status`. */
async function reachesStatus(taskId: string, status: string, client = alice): Promise<Json> {
  let task: Json;
  await eventually(
    async () => (task = await getTask(taskId, client)).status === status,
    () => `task ${taskId} is ${status} (it is ${task?.status})`,
  );
  return task;
}

describe('a held call from a client with the Tasks extension', () => {
  it('answers with a working task at once, then the real result once approved and run', async () => {
    const created = await deploy('t-approved');
    expect(created).toMatchObject({
      resultType: 'task',
      status: 'working',
      pollIntervalMs: expect.any(Number),
    });
    expect(created.result).toBeUndefined();
    const request = (await approvals().get(created.taskId))!;
    expect(request.state).toBe('pending');
    // The envelope's client info is the caller's client, as initialize's is for a legacy session.
    expect(request.caller).toMatchObject({
      id: 'alice',
      transport: 'http',
      client: { name: 'era-test-client', version: '1.0.0' },
    });
    // Who was asked, and where they decide.
    expect(created.statusMessage).toContain('asked: carol, group:reviewers');
    expect(created.statusMessage).toContain(`/approvals/${created.taskId}`);
    expect(created.ttlMs).toBeGreaterThan(0);

    const working = await getTask(created.taskId);
    expect(working).toMatchObject({ resultType: 'complete', taskId: created.taskId, status: 'working' });
    expect(deploysOf('t-approved')).toBe(0);

    await approve(approvals(), created.taskId, BOB);
    const done = await reachesStatus(created.taskId, 'completed');
    expect(done.result.content).toEqual([{ type: 'text', text: 'deployed t-approved' }]);
    expect(done.result._meta['gatehouse/approval']).toMatchObject({ status: 'executed' });
    expect(deploysOf('t-approved')).toBe(1);
  });

  it('fails with the approver’s reason when rejected', async () => {
    const created = await deploy('t-rejected');
    await reject(approvals(), created.taskId, BOB, 'not on a Friday');
    const failed = await reachesStatus(created.taskId, 'failed');
    expect(failed.error.code).toBe(-31000);
    expect(failed.error.message).toContain('rejected by bob');
    expect(failed.error.message).toContain('not on a Friday');
    expect(failed.result).toBeUndefined();
    expect(deploysOf('t-rejected')).toBe(0);
  });

  it('fails as expired when nobody decides in time', async () => {
    const created = await alice.call(
      'tools/call',
      { name: 'rec__wipe', arguments: {} },
      { capabilities: WITH_TASKS },
    );
    expect(created.resultType).toBe('task');
    const failed = await reachesStatus(created.taskId, 'failed');
    expect(failed.error.message).toContain('expired');
  });

  it('tasks/cancel withdraws the request; the task ends cancelled and the call never runs', async () => {
    const created = await deploy('t-cancelled');
    expect(
      await alice.call('tasks/cancel', { taskId: created.taskId }, { capabilities: WITH_TASKS }),
    ).toMatchObject({
      resultType: 'complete',
    });
    const cancelled = await reachesStatus(created.taskId, 'cancelled');
    expect(cancelled.statusMessage).toContain('cancelled');
    expect((await approvals().get(created.taskId))!.state).toBe('cancelled');
    expect(deploysOf('t-cancelled')).toBe(0);
  });

  it('tasks/update is refused: people decide elsewhere, the requester has nothing to give', async () => {
    const created = await deploy('t-update');
    const frames = await alice.request(
      'tasks/update',
      { taskId: created.taskId, inputResponses: { x: { action: 'accept' } } },
      { capabilities: WITH_TASKS },
    );
    const answer = frames[frames.length - 1]!;
    expect(answer.error.code).toBe(-32600);
    expect(answer.error.message).toContain('takes no input');
    expect((await approvals().get(created.taskId))!.state).toBe('pending');
  });

  it('another caller can neither read nor cancel the task: for them it does not exist', async () => {
    const created = await deploy('t-private');
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const frames = await mallory.request(method, { taskId: created.taskId }, { capabilities: WITH_TASKS });
      const answer = frames[frames.length - 1]!;
      expect(answer.error.code).toBe(-32602);
      expect(answer.error.message).toBe(`Task not found: ${created.taskId}`);
    }
    const unknown = await alice.request(
      'tasks/get',
      { taskId: 'no-such-task' },
      { capabilities: WITH_TASKS },
    );
    expect(unknown[unknown.length - 1]!.error.message).toBe('Task not found: no-such-task');
    expect((await approvals().get(created.taskId))!.state).toBe('pending');
  });

  it('the task methods refuse a request without the extension with -32021, naming it', async () => {
    const created = await deploy('t-undeclared');
    for (const method of ['tasks/get', 'tasks/cancel', 'tasks/update']) {
      const frames = await alice.request(method, { taskId: created.taskId }, { capabilities: {} });
      const answer = frames[frames.length - 1]!;
      expect(answer.error.code).toBe(-32021);
      expect(answer.error.data).toEqual({
        requiredCapabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } },
      });
    }
    expect((await approvals().get(created.taskId))!.state).toBe('pending');
  });

  it('a client without the extension gets the pending result, as legacy clients do', async () => {
    const result = await deploy('t-no-extension', alice, {});
    expect(result.resultType).toBe('complete');
    expect(result.content[0].text).toContain('has NOT run yet');
    expect(result._meta['gatehouse/approval']).toMatchObject({ status: 'pending' });
  });

  it('a task survives a restart with its request, and completes after approval', async () => {
    const created = await deploy('t-restart');
    await start();
    expect(await getTask(created.taskId)).toMatchObject({ status: 'working', taskId: created.taskId });
    await approve(approvals(), created.taskId, BOB);
    await reaches(approvals(), created.taskId, 'executed');
    const done = await reachesStatus(created.taskId, 'completed');
    expect(done.result.content).toEqual([{ type: 'text', text: 'deployed t-restart' }]);
  });
});

describe('task notifications on subscriptions/listen', () => {
  it('follows the caller’s own tasks and sends each change as tasks/get would answer', async () => {
    const mine = await deploy('t-listen');
    const theirs = await deploy('t-listen-other', mallory);
    expect(theirs.resultType).toBe('task');
    // mallory's task, and an id that names no task, are left out as if unknown.
    const listen = alice.send(
      'subscriptions/listen',
      { notifications: { taskIds: [mine.taskId, theirs.taskId, 'no-such-task'] } },
      { capabilities: WITH_TASKS },
    );
    await eventually(() => listen.received.length > 0, 'the acknowledgement');
    expect(listen.received[0]).toMatchObject({
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: { taskIds: [mine.taskId] } },
    });
    await approve(approvals(), mine.taskId, BOB);
    await eventually(
      () =>
        listen.received.some((f) => f.method === 'notifications/tasks' && f.params.status === 'completed'),
      'the completed task on the stream',
    );
    const completed = listen.received.find((f) => f.params?.status === 'completed')!;
    expect(completed.params).toMatchObject({
      taskId: mine.taskId,
      result: { content: [{ type: 'text', text: 'deployed t-listen' }] },
      _meta: { 'io.modelcontextprotocol/subscriptionId': listen.id },
    });
    await listen.cancel();
  });

  it('refuses task notifications to a client without the extension (-32021)', async () => {
    const frames = await alice.request('subscriptions/listen', { notifications: { taskIds: ['x'] } });
    const answer = frames[frames.length - 1]!;
    expect(answer.error.code).toBe(-32021);
    expect(answer.error.data).toEqual({
      requiredCapabilities: { extensions: { 'io.modelcontextprotocol/tasks': {} } },
    });
  });
});

describe('on stdio', () => {
  it('a held call is a task of the stdio caller, which that caller can follow and cancel', async () => {
    // Its own store: the embedded Gatehouse above holds the other one.
    const own = approvalSetUp(scratch, 'stdio');
    const client = modernStdioClient(
      process.execPath,
      gatehouseArgs('serve', '--config', own.config),
      spawnEnv({}),
    );
    try {
      const created = await client.call(
        'tools/call',
        { name: 'rec__deploy', arguments: { build: 'stdio' } },
        { capabilities: WITH_TASKS },
      );
      expect(created).toMatchObject({ resultType: 'task', status: 'working' });
      const got = await client.call('tasks/get', { taskId: created.taskId }, { capabilities: WITH_TASKS });
      expect(got.statusMessage).toContain('waiting for human approval');
      await client.call('tasks/cancel', { taskId: created.taskId }, { capabilities: WITH_TASKS });
      await eventually(
        async () =>
          (await client.call('tasks/get', { taskId: created.taskId }, { capabilities: WITH_TASKS }))
            .status === 'cancelled',
        'the task is cancelled',
      );
    } finally {
      await client.close();
    }
  });
});
