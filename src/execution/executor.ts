import { CallToolResultSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { passThrough } from '../shared/passThrough.js';
import { toolDefinitionDigest } from '../approvals/digest.js';
import { toolDefinitionOf, type ApprovalRequest, type ExecutionError } from '../approvals/request.js';
import {
  blockExecution,
  asOf,
  finishExecution,
  isExpired,
  startExecution,
  verifyDigest,
} from '../approvals/states.js';
import type { DecisionPoint } from '../decision/types.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { describeError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import type { ApprovalStore } from '../store/store.js';

/** The server's result is validated and kept as sent: fields the SDK does not know reach the requester. */
const CALL_RESULT = passThrough(CallToolResultSchema);

export interface ExecutorDeps {
  store: ApprovalStore;
  pool: DownstreamPool;
  decisionPoint: () => DecisionPoint;
  logger: Logger;
  now: () => Date;
  /** Every durable change this executor makes, for waiters and channels. */
  changed: (request: ApprovalRequest) => void;
}

/** Requests executed on behalf of no client session: server-initiated requests during them are refused. */
export const EXECUTOR_SESSION = 'gatehouse:executor';

/**
 * Runs an approved request exactly once: re-check, claim (approved → executing, compare-and-set in the
 * store, durable before the downstream call), call downstream with the stored arguments, record the
 * outcome. A request that cannot run yet (its server is restarting) stays approved and is retried by
 * `execute` later, until it expires.
 */
export function createExecutor(deps: ExecutorDeps) {
  const log = deps.logger.child({ module: 'executor' });
  const inProcess = new Map<string, Promise<ApprovalRequest>>();

  function execute(request: ApprovalRequest): Promise<ApprovalRequest> {
    // One attempt per id at a time inside this process; the store's compare-and-set guards the rest.
    const running = inProcess.get(request.id);
    if (running) return running;
    const attempt = run(request.id).finally(() => inProcess.delete(request.id));
    inProcess.set(request.id, attempt);
    return attempt;
  }

  async function run(id: string): Promise<ApprovalRequest> {
    const request = await deps.store.get(id);
    if (!request || request.state !== 'approved') return request!;
    if (isExpired(request, deps.now())) return expire(request);
    const connection = deps.pool.get(request.server);
    if (!connection || connection.state !== 'ready') {
      log.warn({ approvalId: id, server: request.server }, 'approved call waits for its server to be ready');
      return request;
    }
    // The tool is confirmed with the server itself, right before the claim: a definition changed
    // without list_changed blocks the call as surely as an announced change.
    let listed: Tool[];
    try {
      listed = await connection.listToolsFresh();
    } catch (error) {
      log.warn(
        { approvalId: id, server: request.server, reason: describeError(error) },
        'approved call waits: its server did not list its tools',
      );
      return request;
    }
    const now = deps.now();
    if (isExpired(request, now)) return expire(request);
    const blocked = recheck(
      request,
      listed.find((tool) => tool.name === request.tool),
      now,
    );
    if (blocked) {
      log.warn(
        { approvalId: id, code: blocked.code, reason: blocked.message },
        'approved call blocked by the re-check',
      );
      return transition(request, (r) => blockExecution(r, blocked, now));
    }

    const claimed = await deps.store.transition(id, 'approved', (r) => startExecution(r, deps.now()));
    if (!claimed.ok) return claimed.request;
    deps.changed(claimed.request);
    log.info({ approvalId: id, server: request.server, tool: request.tool }, 'executing approved call');

    let outcome: Parameters<typeof finishExecution>[1];
    try {
      const result = await connection.request(
        { method: 'tools/call', params: { name: request.tool, arguments: request.arguments } },
        CALL_RESULT,
        { sessionId: EXECUTOR_SESSION },
      );
      outcome = { result };
    } catch (error) {
      outcome = {
        error: {
          code: isGatehouseError(error) ? error.code : 'DOWNSTREAM_ERROR',
          message: error instanceof Error ? error.message : String(error),
        },
      };
    }
    const finished = await deps.store.transition(id, 'executing', (r) =>
      finishExecution(r, outcome, deps.now()),
    );
    deps.changed(finished.request);
    log.info({ approvalId: id, state: finished.request.state }, 'approved call finished');
    return finished.request;
  }

  /**
   * What must still hold right before the approved arguments run: they hash to the approved digest, the
   * tool the server lists now is the one the approvers saw, and the current policy set does not deny
   * the call.
   */
  function recheck(request: ApprovalRequest, tool: Tool | undefined, now: Date): ExecutionError | undefined {
    if (!verifyDigest(request)) {
      return { code: 'DIGEST_MISMATCH', message: 'the stored call no longer matches its approved digest' };
    }
    if (!tool) {
      return {
        code: 'TOOL_UNAVAILABLE',
        message: `server "${request.server}" no longer offers tool "${request.tool}"`,
      };
    }
    if (toolDefinitionDigest(tool) !== request.toolDefinitionDigest) {
      return {
        code: 'TOOL_DEFINITION_CHANGED',
        message: `the definition of ${request.tool} (name, description or input schema) changed after approval; the approvers did not see this tool`,
        toolDefinition: toolDefinitionOf(tool),
      };
    }
    const call: ToolCall = {
      requestId: request.id,
      server: request.server,
      tool: request.tool,
      exposedName: request.exposedName,
      arguments: request.arguments,
      caller: {
        id: request.caller.id,
        groups: request.caller.groups,
        // Requests stored before schema version 2 lack the transport; they came from the stdio era.
        transport: request.caller.transport ?? 'stdio',
        ...(request.caller.client ? { client: request.caller.client } : {}),
      },
      definition: tool,
    };
    let decision;
    try {
      decision = deps.decisionPoint().decide(call, now);
    } catch (error) {
      return { code: 'POLICY_ERROR', message: `the policy engine failed on the re-check: ${String(error)}` };
    }
    if (decision instanceof Promise) {
      return {
        code: 'POLICY_ERROR',
        message: 'the decision point must decide synchronously on the re-check',
      };
    }
    if (decision.effect === 'deny' && decision.mode === 'enforce') {
      return {
        code: 'POLICY_NOW_DENIES',
        message: `the current policy set (${decision.policyVersion}) denies this call (${decision.rules.join(', ') || 'default'}): ${decision.reason}`,
      };
    }
    return undefined;
  }

  const expire = (request: ApprovalRequest) => transition(request, (r) => asOf(r, deps.now()));

  async function transition(request: ApprovalRequest, update: (r: ApprovalRequest) => ApprovalRequest) {
    const result = await deps.store.transition(request.id, request.state, update);
    if (result.ok) deps.changed(result.request);
    return result.request;
  }

  /** Wait (bounded) for the executions under way to finish and be recorded. */
  async function drain(timeoutMs: number): Promise<void> {
    if (inProcess.size === 0) return;
    log.info({ executions: inProcess.size }, 'waiting for approved calls under way to finish');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...inProcess.values()]),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  return { execute, drain };
}

export type Executor = ReturnType<typeof createExecutor>;
