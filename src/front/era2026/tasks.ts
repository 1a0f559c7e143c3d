import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { outcomeOf } from '../../approvals/outcome.js';
import { DECIDE_AT, pageSentence } from '../../approvals/pageLink.js';
import { lastChangeOf, type ApprovalRequest } from '../../approvals/request.js';
import { resultForRequest } from '../../approvals/results.js';
import type { ApprovalRuntime } from '../../approvals/service.js';
import { isOpen } from '../../approvals/states.js';
import { ERROR_CODES, GatehouseError, type ErrorCode as GatehouseCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Caller } from '../../pipeline/toolCall.js';
import { toWireError } from '../errors.js';

/*
 * Approvals as tasks of the Tasks extension (io.modelcontextprotocol/tasks, SEP-2663) for 2026-07-28
 * clients. A task IS the approval request behind it: its id is the request's id and everything
 * `tasks/get` reports is read from the store, so a task survives a restart with its request and
 * needs no memory of its own. It is bound to the caller whose call made the request (the request's
 * digest includes the caller): anyone else is told it does not exist.
 */

/** How often a client is asked to poll: people decide in minutes, not milliseconds. */
export const POLL_INTERVAL_MS = 1_000;

/** The reason a request is cancelled with when its requester cancels the task. */
export const CANCELLED_BY_TASK = 'the requester cancelled the task';

type Status = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

/** The Task shape of the extension (ext-tasks schema/draft/schema.ts). */
export type TaskView = {
  taskId: string;
  status: Status;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number | null;
  pollIntervalMs: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
};

export interface TaskContext {
  approvals: Pick<ApprovalRuntime, 'pageLink' | 'retentionMs'>;
  log: Logger;
}

/**
 * The task as the request stands: working while people decide (who was asked, and the page) and while
 * the approved call runs; completed with the call's real result (an isError result too: the tool ran);
 * failed with a JSON-RPC error saying why when it ended without a result; cancelled when its requester
 * cancelled it.
 */
export function taskOf(request: ApprovalRequest, ctx: TaskContext): TaskView {
  const base = {
    taskId: request.id,
    createdAt: request.createdAt,
    lastUpdatedAt: lastChangeOf(request),
    // The request is kept for its lifetime and then for the retention of finished requests.
    ttlMs: request.ttlMs + ctx.approvals.retentionMs,
    pollIntervalMs: POLL_INTERVAL_MS,
  };
  if (request.state === 'pending') {
    const link = ctx.approvals.pageLink?.(request.id);
    const given = request.decisions.filter((d) => d.decision === 'approve').length;
    return {
      ...base,
      status: 'working',
      statusMessage:
        `waiting for human approval ${request.id} (asked: ${request.approvers.join(', ')}; ` +
        `${given} of ${request.quorum} approval${request.quorum === 1 ? '' : 's'} given; expires ${request.expiresAt})` +
        (link ? `. ${pageSentence(link, DECIDE_AT)}` : ''),
    };
  }
  if (isOpen(request.state)) {
    const doing = request.state === 'executing' ? 'executing' : 'about to execute';
    return { ...base, status: 'working', statusMessage: `approval ${request.id}: approved; ${doing}` };
  }
  const outcome = outcomeOf(request)!;
  const said = `approval ${request.id}: ${outcome.text}${outcome.detail ? `: ${outcome.detail}` : ''}`;
  if (request.state === 'executed') {
    return {
      ...base,
      status: 'completed',
      statusMessage: `approval ${request.id}: ${outcome.text}`,
      result: resultForRequest(request, false, ctx.approvals) as Record<string, unknown>,
    };
  }
  if (request.state === 'cancelled' && request.closed?.reason === CANCELLED_BY_TASK) {
    return { ...base, status: 'cancelled', statusMessage: said };
  }
  const error = toWireError(
    new GatehouseError(failureCode(request), `Gatehouse: ${said}`),
    ctx.log,
    'modern',
  );
  return {
    ...base,
    status: 'failed',
    statusMessage: said,
    error: { code: error.code, message: error.message },
  };
}

/** A run that failed keeps its own code where Gatehouse knows it; a call nobody let run says so. */
function failureCode(request: ApprovalRequest): GatehouseCode {
  if (request.state === 'failed' || request.state === 'unknown') {
    const code = request.execution?.error?.code;
    return code !== undefined && code in ERROR_CODES ? (code as GatehouseCode) : 'INTERNAL';
  }
  return 'CALL_NOT_APPROVED';
}

/**
 * The request behind task `taskId`, when `caller` made it. A task of someone else and no task at all
 * get the same answer, so task ids tell nobody what others asked for.
 */
async function boundRequest(
  approvals: Pick<ApprovalRuntime, 'get'>,
  taskId: unknown,
  caller: Pick<Caller, 'id'>,
): Promise<ApprovalRequest> {
  if (typeof taskId !== 'string' || taskId === '') {
    throw new McpError(ErrorCode.InvalidParams, 'Invalid task request: params.taskId is required (a string)');
  }
  const request = await approvals.get(taskId);
  if (!request || request.caller.id !== caller.id) {
    throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`);
  }
  return request;
}

export function createApprovalTasks(approvals: ApprovalRuntime, log: Logger) {
  const ctx: TaskContext = { approvals, log };
  return {
    /** tools/call's answer for a held call: the task, created when the request was stored. */
    created(request: ApprovalRequest): TaskView & { resultType: 'task' } {
      const { result: _r, error: _e, ...task } = taskOf(request, ctx);
      return { resultType: 'task', ...task };
    },

    async get(taskId: unknown, caller: Pick<Caller, 'id'>): Promise<TaskView> {
      return taskOf(await boundRequest(approvals, taskId, caller), ctx);
    },

    /** Withdraws the request; one already running or finished stays as it is (cancellation is cooperative). */
    async cancel(taskId: unknown, caller: Pick<Caller, 'id'>): Promise<Record<string, never>> {
      const request = await boundRequest(approvals, taskId, caller);
      if (request.state === 'pending' || request.state === 'approved') {
        await approvals.cancel(request.id, CANCELLED_BY_TASK);
      }
      return {};
    },

    /**
     * Task status notifications for a listen stream (`notifications.taskIds`): of the ids given, those
     * of the caller's own tasks are followed (the others are left out of the acknowledgement, as if
     * unknown); each change of one sends the task as tasks/get would answer it.
     */
    async follow(
      taskIds: readonly unknown[],
      caller: Pick<Caller, 'id'>,
      send: (task: TaskView) => void,
    ): Promise<{ followed: string[]; stop(): void }> {
      const followed: string[] = [];
      for (const id of new Set(taskIds)) {
        if (typeof id !== 'string') continue;
        const request = await approvals.get(id);
        if (request && request.caller.id === caller.id) followed.push(id);
      }
      if (followed.length === 0) return { followed, stop: () => undefined };
      const ids = new Set(followed);
      const stop = approvals.onChange((request) => {
        if (ids.has(request.id)) send(taskOf(request, ctx));
      });
      return { followed, stop };
    },

    /** Gatehouse's tasks never ask the requester for input: people decide on the request elsewhere. */
    async update(taskId: unknown, caller: Pick<Caller, 'id'>): Promise<never> {
      const request = await boundRequest(approvals, taskId, caller);
      throw new McpError(
        ErrorCode.InvalidRequest,
        `Task ${request.id} takes no input: it waits for people to decide on approval ${request.id}, ` +
          'not for the requester. Poll tasks/get, or cancel it with tasks/cancel.',
      );
    },
  };
}

export type ApprovalTasks = ReturnType<typeof createApprovalTasks>;
