import { McpError, type Request } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { ApprovalRuntime } from '../approvals/service.js';
import { silentLogger } from '../log.js';
import { createSessionTaskStore, createTaskBridge } from './tasks.js';

const REQUEST: Request = { method: 'tools/call', params: { name: 'x' } };
const RESULT = { content: [] };

function clock() {
  let at = Date.parse('2026-01-01T00:00:00Z');
  return { now: () => at, advance: (ms: number) => void (at += ms) };
}

describe('one session’s task store', () => {
  it('caps the ttl a client asks for, and gives a task without one the cap', async () => {
    const { store } = createSessionTaskStore({ maxTasks: 10, maxTtlMs: 60_000 });
    expect((await store.createTask({ ttl: 3_600_000 }, 1, REQUEST)).ttl).toBe(60_000);
    expect((await store.createTask({ ttl: null }, 2, REQUEST)).ttl).toBe(60_000);
    expect((await store.createTask({ ttl: 5_000 }, 3, REQUEST)).ttl).toBe(5_000);
  });

  it('drops a task once its ttl has passed, counted again from its end', async () => {
    const time = clock();
    const tasks = createSessionTaskStore({ maxTasks: 10, maxTtlMs: 60_000 }, time.now);
    const { taskId } = await tasks.store.createTask({ ttl: 1_000 }, 1, REQUEST);
    time.advance(900);
    await tasks.store.storeTaskResult(taskId, 'completed', RESULT);
    time.advance(900);
    expect((await tasks.store.getTask(taskId))?.status).toBe('completed');
    expect(await tasks.store.getTaskResult(taskId)).toEqual(RESULT);
    time.advance(100);
    expect(await tasks.store.getTask(taskId)).toBeNull();
    expect(tasks.size).toBe(0);
  });

  it('at its cap makes room by dropping the finished task that ended first, never an unfinished one', async () => {
    const time = clock();
    const tasks = createSessionTaskStore({ maxTasks: 3, maxTtlMs: 60_000 }, time.now);
    const first = await tasks.store.createTask({}, 1, REQUEST);
    const second = await tasks.store.createTask({}, 2, REQUEST);
    const third = await tasks.store.createTask({}, 3, REQUEST);
    await tasks.store.storeTaskResult(second.taskId, 'completed', RESULT);
    time.advance(10);
    await tasks.store.storeTaskResult(first.taskId, 'failed', RESULT);

    await tasks.store.createTask({}, 4, REQUEST);
    expect(await tasks.store.getTask(second.taskId)).toBeNull();
    expect(await tasks.store.getTask(first.taskId)).not.toBeNull();
    expect(tasks.size).toBe(3);

    await tasks.store.createTask({}, 5, REQUEST);
    expect(await tasks.store.getTask(first.taskId)).toBeNull();
    // Three unfinished tasks: the next one is refused with the limit named, and nothing is dropped.
    const refusal = tasks.store.createTask({}, 6, REQUEST);
    await expect(refusal).rejects.toBeInstanceOf(McpError);
    await expect(refusal).rejects.toThrow(/3 unfinished tasks.*sessions\.maxTasksPerSession/);
    expect((await tasks.store.getTask(third.taskId))?.status).toBe('working');
  });

  it('refuses a change to a task that has ended', async () => {
    const { store } = createSessionTaskStore({ maxTasks: 10, maxTtlMs: 60_000 });
    const { taskId } = await store.createTask({}, 1, REQUEST);
    await store.updateTaskStatus(taskId, 'cancelled');
    await expect(store.storeTaskResult(taskId, 'completed', RESULT)).rejects.toThrow(/already ended/);
  });

  it('lists every task page by page', async () => {
    const { store } = createSessionTaskStore({ maxTasks: 500, maxTtlMs: 60_000 });
    const created = new Set<string>();
    for (let i = 0; i < 250; i++) created.add((await store.createTask({}, i, REQUEST)).taskId);
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listTasks(cursor);
      listed.push(...page.tasks.map((t) => t.taskId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(listed)).toEqual(created);
    expect(listed).toHaveLength(250);
  });
});

describe('the task bridge of a session', () => {
  it('on close drops its tasks and stops following their approval requests', async () => {
    const listeners = new Set<() => void>();
    const approvals = {
      retentionMs: 0,
      onChange: (listener: () => void) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      get: async () => undefined,
    } as unknown as ApprovalRuntime;
    const bridge = createTaskBridge(approvals, silentLogger, { maxTasks: 10, maxTtlMs: 60_000 });
    const request = { id: 'a1', state: 'pending', approvers: ['bob'], ttlMs: 600_000 };
    const store = bridge.store as unknown as Parameters<typeof bridge.forApproval>[0];
    await bridge.forApproval(store, undefined, request as never, false);
    await bridge.forApproval(store, undefined, { ...request, id: 'a2' } as never, false);
    expect(listeners.size).toBe(2);
    expect(bridge.size).toBe(2);

    bridge.close();
    expect(listeners.size).toBe(0);
    expect(bridge.size).toBe(0);
  });
});
