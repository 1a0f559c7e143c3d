import {
  isTerminal,
  type CreateTaskResult,
  type TaskStore,
} from '@modelcontextprotocol/sdk/experimental/tasks/index.js';
import type { RequestTaskStore } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  McpError,
  type CallToolResult,
  type Result,
  type ServerCapabilities,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import { randomUUID } from 'node:crypto';
import { outcomeOf } from '../approvals/outcome.js';
import { DECIDE_AT, pageSentence } from '../approvals/pageLink.js';
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

/** How many tasks one session holds, and for how long (config `sessions`). */
export interface TaskLimits {
  /** Tasks held per session; finished ones make room first, unfinished ones are never dropped. */
  maxTasks: number;
  /** The longest a task is kept, counted as the SDK does: from creation, and again from its end. */
  maxTtlMs: number;
}

export const DEFAULT_TASK_LIMITS: TaskLimits = { maxTasks: 1_000, maxTtlMs: 24 * 3600_000 };

const PAGE_SIZE = 100;

interface HeldTask {
  task: Task;
  result?: Result;
  expiresAt: number;
}

/**
 * One session's tasks, in memory and bounded. Unlike the SDK's InMemoryTaskStore it keeps no timer per
 * task (those held a stopping process up for the task's ttl, an hour for an approval's lifetime):
 * an expired task is dropped when it is next looked at or room is needed, and `clear()` drops them
 * all when the session ends. A client's ttl is capped at `maxTtlMs`, and "no ttl" means that cap.
 */
export function createSessionTaskStore(limits: TaskLimits, now: () => number = Date.now) {
  const tasks = new Map<string, HeldTask>();

  function live(taskId: string): HeldTask | undefined {
    const held = tasks.get(taskId);
    if (held && held.expiresAt <= now()) {
      tasks.delete(taskId);
      return undefined;
    }
    return held;
  }

  function found(taskId: string): HeldTask {
    const held = live(taskId);
    if (!held) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
    return held;
  }

  /** Room for one more: expired tasks go, then the finished task that ended first. */
  function makeRoom(): void {
    const at = now();
    for (const [id, held] of tasks) if (held.expiresAt <= at) tasks.delete(id);
    if (tasks.size < limits.maxTasks) return;
    let oldest: [string, HeldTask] | undefined;
    for (const entry of tasks) {
      if (isTerminal(entry[1].task.status) && (!oldest || entry[1].expiresAt < oldest[1].expiresAt)) {
        oldest = entry;
      }
    }
    if (oldest) tasks.delete(oldest[0]);
    if (tasks.size >= limits.maxTasks) {
      throw new McpError(
        ErrorCode.InvalidRequest,
        `Too many tasks: this session already has ${limits.maxTasks} unfinished tasks ` +
          '(the limit sessions.maxTasksPerSession); wait for one to finish or cancel one',
      );
    }
  }

  function change(held: HeldTask, status: Task['status'], statusMessage?: string): void {
    if (isTerminal(held.task.status)) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Task ${held.task.taskId} has already ended (${held.task.status})`,
      );
    }
    held.task.status = status;
    if (statusMessage) held.task.statusMessage = statusMessage;
    held.task.lastUpdatedAt = new Date(now()).toISOString();
    // The result stays retrievable for the ttl after the task ends, as with the SDK's store.
    if (isTerminal(status)) held.expiresAt = now() + (held.task.ttl ?? limits.maxTtlMs);
  }

  const store: TaskStore = {
    async createTask(params) {
      makeRoom();
      const ttl = Math.min(params.ttl ?? limits.maxTtlMs, limits.maxTtlMs);
      const createdAt = new Date(now()).toISOString();
      const task: Task = {
        taskId: randomUUID(),
        status: 'working',
        ttl,
        createdAt,
        lastUpdatedAt: createdAt,
        pollInterval: params.pollInterval ?? 1_000,
      };
      tasks.set(task.taskId, { task, expiresAt: now() + ttl });
      return { ...task };
    },
    async getTask(taskId) {
      const held = live(taskId);
      return held ? { ...held.task } : null;
    },
    async storeTaskResult(taskId, status, result) {
      const held = found(taskId);
      change(held, status);
      held.result = result;
    },
    async getTaskResult(taskId) {
      const { result } = found(taskId);
      if (!result) throw new McpError(ErrorCode.InvalidParams, `Task ${taskId} has no result yet`);
      return result;
    },
    async updateTaskStatus(taskId, status, statusMessage) {
      change(found(taskId), status, statusMessage);
    },
    async listTasks(cursor) {
      const ids = [...tasks.keys()].filter((id) => live(id));
      const start = cursor === undefined ? 0 : ids.indexOf(cursor) + 1;
      if (start === 0 && cursor !== undefined) throw new Error(`Invalid cursor: ${cursor}`);
      const page = ids.slice(start, start + PAGE_SIZE);
      return {
        tasks: page.map((id) => ({ ...tasks.get(id)!.task })),
        ...(start + PAGE_SIZE < ids.length ? { nextCursor: page[page.length - 1] } : {}),
      };
    },
  };

  return {
    store,
    /** Tasks held now, expired ones included until they are next looked at. */
    get size() {
      return tasks.size;
    },
    clear: () => tasks.clear(),
    /**
     * The message the task's next change carries: the SDK's storeTaskResult takes none, so the words
     * for how a task ended are set just before it.
     */
    describe(taskId: string, statusMessage: string): void {
      const held = live(taskId);
      if (held && !isTerminal(held.task.status)) held.task.statusMessage = statusMessage;
    },
  };
}

/**
 * One client session's tasks. A gated call's task follows its approval request: `input_required`
 * while people decide, `working` while it executes, then `completed` with the real result or `failed`
 * (rejected, expired, blocked, cancelled). Cancelling the task cancels the request. Other calls run as
 * ordinary tasks. Tasks live in memory and end with their session (`close()`); the approval request
 * behind one survives both the session and a restart.
 */
export function createTaskBridge(
  approvals: ApprovalRuntime,
  logger: Logger,
  limits: TaskLimits = DEFAULT_TASK_LIMITS,
) {
  const log = logger.child({ module: 'tasks' });
  const inner = createSessionTaskStore(limits);
  const approvalOf = new Map<string, string>();
  /** The approval listeners of tasks still following their request: a closed session drops them. */
  const following = new Set<() => void>();
  let closed = false;

  const store: TaskStore = {
    ...inner.store,
    async updateTaskStatus(taskId, status, statusMessage, sessionId) {
      await inner.store.updateTaskStatus(taskId, status, statusMessage, sessionId);
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
        case 'pending': {
          const link = approvals.pageLink?.(current.id);
          await taskStore.updateTaskStatus(
            task.taskId,
            'input_required',
            `waiting for human approval ${current.id} (${current.approvers.join(', ')})` +
              (link ? `. ${pageSentence(link, DECIDE_AT)}` : ''),
          );
          return false;
        }
        case 'approved':
        case 'executing':
          await taskStore.updateTaskStatus(
            task.taskId,
            'working',
            `approval ${current.id}: approved; ${current.state === 'executing' ? 'executing' : 'about to execute'}`,
          );
          return false;
        default: {
          const result = resultForRequest(current, hasOutputSchema, approvals);
          const outcome = outcomeOf(current);
          if (outcome) inner.describe(task.taskId, `approval ${current.id}: ${outcome.text}`);
          // A tool's isError result fails the task, as it does for calls run at once (forCall).
          await taskStore.storeTaskResult(
            task.taskId,
            outcome?.kind === 'executed' ? 'completed' : 'failed',
            result,
          );
          return true;
        }
      }
    };
    const unsubscribe = approvals.onChange((changed) => {
      if (changed.id !== request.id) return;
      void apply(changed)
        .then((done) => done && stopFollowing())
        .catch((error: unknown) => {
          if (!closed) log.warn({ err: error, taskId: task.taskId }, 'task status update failed');
        });
    });
    const stopFollowing = () => {
      unsubscribe();
      following.delete(stopFollowing);
      approvalOf.delete(task.taskId);
    };
    following.add(stopFollowing);
    // The request may already have moved on (a joined retry): start from its current state.
    const current = (await approvals.get(request.id)) ?? request;
    if (await apply(current)) stopFollowing();
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
      .catch((error: unknown) => {
        // A call that outlives its session has nobody left to tell.
        if (!closed) log.warn({ err: error, taskId: task.taskId }, 'task result not stored');
      });
    return { task };
  }

  /** The session ended: its tasks, and their interest in approval requests, go with it. */
  function close(): void {
    closed = true;
    for (const stopFollowing of [...following]) stopFollowing();
    inner.clear();
  }

  return {
    store,
    forApproval,
    forCall,
    close,
    /** Tasks this session holds (for status). */
    get size() {
      return inner.size;
    },
  };
}

export type TaskBridge = ReturnType<typeof createTaskBridge>;
