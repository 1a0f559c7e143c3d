import { InMemoryTaskStore, type TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/index.js';
import type { RequestTaskStore } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CreateTaskResult } from '@modelcontextprotocol/sdk/experimental/tasks/index.js';
import type { CallToolResult, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { resultForRequest } from '../approvals/results.js';
import type { ApprovalRequest } from '../approvals/request.js';
import type { ApprovalRuntime } from '../approvals/service.js';
import type { Logger } from '../log.js';

/** Gatehouse runs tools/call as a task when the client asks for one (MCP 2025-11-25, experimental). */
export const TASK_CAPABILITIES: NonNullable<ServerCapabilities['tasks']> = {
  list: {},
  cancel: {},
  requests: { tools: { call: {} } },
};

export type CreatedTask = CreateTaskResult;

/**
 * One client session's tasks. A gated call's task follows its approval request: `input_required`
 * while people decide, `working` while it executes, then `completed` with the real result or `failed`
 * (rejected, expired, blocked, cancelled). Cancelling the task cancels the request. Other calls run as
 * ordinary tasks. Tasks live in memory; the approval request behind one survives a restart.
 */
export function createTaskBridge(approvals: ApprovalRuntime, logger: Logger) {
  const log = logger.child({ module: 'tasks' });
  const inner = new InMemoryTaskStore();
  const approvalOf = new Map<string, string>();

  const store: TaskStore = {
    createTask: (...args) => inner.createTask(...args),
    getTask: (...args) => inner.getTask(...args),
    storeTaskResult: (...args) => inner.storeTaskResult(...args),
    getTaskResult: (...args) => inner.getTaskResult(...args),
    listTasks: (...args) => inner.listTasks(...args),
    async updateTaskStatus(taskId, status, statusMessage, sessionId) {
      await inner.updateTaskStatus(taskId, status, statusMessage, sessionId);
      // The task first: the request's change then finds it cancelled and leaves it so, instead of
      // racing to store a `failed` result that would refuse the client's tasks/cancel.
      const approvalId = approvalOf.get(taskId);
      if (status === 'cancelled' && approvalId) {
        await approvals.cancel(approvalId, 'the client cancelled the task');
      }
    },
  };

  /** A task for a gated call: its status follows the approval request until it ends. */
  async function forApproval(
    taskStore: RequestTaskStore,
    ttl: number | undefined,
    request: ApprovalRequest,
    hasOutputSchema: boolean,
  ): Promise<CreatedTask> {
    const task = await taskStore.createTask({ ttl: ttl ?? request.ttlMs, pollInterval: 1_000 });
    approvalOf.set(task.taskId, request.id);
    let last: string | undefined;
    const apply = async (current: ApprovalRequest): Promise<boolean> => {
      if (current.state === last) return false;
      last = current.state;
      const latest = await taskStore.getTask(task.taskId).catch(() => undefined);
      if (!latest || latest.status === 'cancelled') return true;
      switch (current.state) {
        case 'pending':
          await taskStore.updateTaskStatus(
            task.taskId,
            'input_required',
            `waiting for human approval ${current.id} (${current.approvers.join(', ')})`,
          );
          return false;
        case 'approved':
        case 'executing':
          await taskStore.updateTaskStatus(task.taskId, 'working', `approved; ${current.state}`);
          return false;
        default: {
          const result = resultForRequest(current, hasOutputSchema, approvals.retentionMs);
          await taskStore.storeTaskResult(
            task.taskId,
            current.state === 'executed' ? 'completed' : 'failed',
            result,
          );
          return true;
        }
      }
    };
    const unsubscribe = approvals.onChange((changed) => {
      if (changed.id !== request.id) return;
      void apply(changed)
        .then((done) => done && unsubscribe())
        .catch((error: unknown) =>
          log.warn({ err: error, taskId: task.taskId }, 'task status update failed'),
        );
    });
    // The request may already have moved on (a joined retry): start from its current state.
    const current = (await approvals.get(request.id)) ?? request;
    if (await apply(current)) unsubscribe();
    return { task: (await taskStore.getTask(task.taskId)) ?? task };
  }

  /** A task for a call decided at once (allowed or denied): it runs, then holds its result. */
  async function forCall(
    taskStore: RequestTaskStore,
    ttl: number | undefined,
    run: () => Promise<CallToolResult>,
  ): Promise<CreatedTask> {
    const task = await taskStore.createTask({ ttl: ttl ?? null });
    void run()
      .then((result) =>
        taskStore.storeTaskResult(task.taskId, result.isError ? 'failed' : 'completed', result),
      )
      .catch((error: unknown) =>
        taskStore.storeTaskResult(task.taskId, 'failed', {
          content: [
            { type: 'text', text: `Gatehouse: ${error instanceof Error ? error.message : String(error)}` },
          ],
          isError: true,
        }),
      )
      .catch((error: unknown) => log.warn({ err: error, taskId: task.taskId }, 'task result not stored'));
    return { task };
  }

  return { store, forApproval, forCall };
}

export type TaskBridge = ReturnType<typeof createTaskBridge>;
