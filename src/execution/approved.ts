import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { toolDefinitionDigest } from '../approvals/digest.js';
import { toolDefinitionOf, type ApprovalRequest, type ExecutionError } from '../approvals/request.js';
import {
  asOf,
  blockExecution,
  finishExecution,
  isExpired,
  startExecution,
  verifyDigest,
  type ExecutionOutcome,
} from '../approvals/states.js';
import type { EventBus } from '../audit/bus.js';
import { auditCaller, type AuditVerdict, type EventOf } from '../audit/events.js';
import type { Appended } from '../audit/log.js';
import type { AuditTrail } from '../audit/trail.js';
import type { DecisionPoint } from '../decision/types.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import type { ApprovalStore } from '../store/store.js';
import type { Executor } from './executor.js';

export interface ApprovedExecutorDeps {
  store: ApprovalStore;
  pool: DownstreamPool;
  executor: Executor;
  events: EventBus;
  /** Signs receipts for executed approved calls; absent in tests without a trail. */
  trail?: Pick<AuditTrail, 'receipt'>;
  /** The keyed digest of a request's arguments, as audit records carry it. */
  argumentsDigest: (args: Record<string, unknown>) => string;
  decisionPoint: () => DecisionPoint;
  logger: Logger;
  now: () => Date;
  /** Every durable change, with the event that records it: audit first, then waiters and channels. */
  changed: (request: ApprovalRequest, event?: Parameters<EventBus['publish']>[0]) => Promise<void>;
}

/** Requests executed on behalf of no client session: server-initiated requests during them are refused. */
export const EXECUTOR_SESSION = 'gatehouse:executor';

/**
 * Runs an approved request exactly once: re-check, claim (approved → executing, compare-and-set in the
 * store, durable before the downstream call), execute the stored arguments through the one execution
 * path, record the outcome with its signed receipt. A request that cannot run yet (its server is
 * restarting) stays approved and is retried later, until it expires.
 */
export function createApprovedExecutor(deps: ApprovedExecutorDeps) {
  const log = deps.logger.child({ module: 'approved' });
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
    const tool = listed.find((t) => t.name === request.tool);
    const checked = recheck(request, tool, now);
    if ('code' in checked) {
      const blocked = checked;
      log.warn(
        { approvalId: id, code: blocked.code, reason: blocked.message },
        'approved call blocked by the re-check',
      );
      const { toolDefinition: _definition, ...error } = blocked;
      return transition(request, (r) => blockExecution(r, blocked, now), {
        event: 'call.failed',
        ...executionFields(request),
        reachedServer: false,
        error,
      });
    }

    const claimed = await deps.store.transition(id, 'approved', (r) => startExecution(r, deps.now()));
    if (!claimed.ok) return claimed.request;
    // The executor records call.executing itself, durably, before the call.
    await deps.changed(claimed.request).catch(() => undefined);
    log.info({ approvalId: id, server: request.server, tool: request.tool }, 'executing approved call');

    const outcome = await deps.executor.execute({
      call: toolCall(request, tool!),
      params: { name: request.tool, arguments: request.arguments },
      rules: request.rules,
      policyVersion: request.policyVersion,
      argumentsDigest: deps.argumentsDigest(request.arguments),
      approval: { id: request.id, approvals: approvalsOf(request) },
      // As the policy set in force right before the call gives them, from the arguments approved.
      ...(checked.credentials ? { credentials: checked.credentials } : {}),
      forward: { sessionId: EXECUTOR_SESSION },
    });
    let stored: ExecutionOutcome;
    if (outcome.ok) {
      // The receipt travels with the result: the requester holds evidence of who approved what ran.
      const receipt = outcome.afterRecord ? await receiptFor(request, outcome.afterRecord) : undefined;
      stored = {
        result: receipt
          ? { ...outcome.result, _meta: { ...outcome.result._meta, 'gatehouse/receipt': receipt } }
          : outcome.result,
      };
    } else {
      stored = { error: { code: outcome.code, message: outcome.message } };
    }
    const finished = await deps.store.transition(id, 'executing', (r) =>
      finishExecution(r, stored, deps.now()),
    );
    // Recorded by the executor already; waiters and channels hear of it now.
    await deps.changed(finished.request).catch(() => undefined);
    log.info({ approvalId: id, state: finished.request.state }, 'approved call finished');
    return finished.request;
  }

  /**
   * The evidence an executed approved call carries: the inclusion proof of its call.executed record
   * (with the record's line, which repeats who approved what) against a signed checkpoint, and beside
   * it the approval's facts, which `gatehouse audit verify-receipt` checks against that line.
   */
  async function receiptFor(request: ApprovalRequest, record: Appended) {
    if (!deps.trail) return undefined;
    try {
      return {
        ...(await deps.trail.receipt(record)),
        approvalId: request.id,
        server: request.server,
        tool: request.tool,
        rules: request.rules,
        policyVersion: request.policyVersion,
        argumentsDigest: deps.argumentsDigest(request.arguments),
        requestedBy: auditCaller(request.caller),
        approvals: approvalsOf(request),
      };
    } catch (error) {
      log.error({ approvalId: request.id, reason: describeError(error) }, 'no receipt for an executed call');
      return undefined;
    }
  }

  /**
   * What must still hold right before the approved arguments run: they hash to the approved digest, the
   * tool the server lists now is the one the approvers saw, and the current policy set does not deny
   * the call. When it holds: the credentials that set gives the call.
   */
  function recheck(
    request: ApprovalRequest,
    tool: Tool | undefined,
    now: Date,
  ): ExecutionError | { credentials?: string[] } {
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
    let decision;
    try {
      decision = deps.decisionPoint().decide(toolCall(request, tool), now);
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
    return decision.effect !== 'deny' && decision.credentials ? { credentials: decision.credentials } : {};
  }

  function executionFields(request: ApprovalRequest): Omit<EventOf<'call.executing'>, 'event'> {
    return {
      callId: request.id,
      caller: auditCaller(request.caller),
      server: request.server,
      tool: request.tool,
      exposedName: request.exposedName,
      rules: request.rules,
      policyVersion: request.policyVersion,
      approvalId: request.id,
      approvals: approvalsOf(request),
      argumentsDigest: deps.argumentsDigest(request.arguments),
    };
  }

  const expire = (request: ApprovalRequest) =>
    transition(request, (r) => asOf(r, deps.now()), {
      event: 'approval.expired',
      approvalId: request.id,
      expiresAt: request.expiresAt,
    });

  async function transition(
    request: ApprovalRequest,
    update: (r: ApprovalRequest) => ApprovalRequest,
    event: Parameters<EventBus['publish']>[0],
  ) {
    const result = await deps.store.transition(request.id, request.state, update);
    if (result.ok) await deps.changed(result.request, event).catch(() => undefined);
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

export type ApprovedExecutor = ReturnType<typeof createApprovedExecutor>;

/** The approvals that counted towards the request, as records and receipts keep them. */
export function approvalsOf(request: ApprovalRequest): AuditVerdict[] {
  return request.decisions
    .filter((d) => d.decision === 'approve')
    .map((d) => ({
      approver: { id: d.approver.id, groups: [...d.approver.groups] },
      verdict: 'approve' as const,
      at: d.at,
      channel: d.channel ?? 'unknown',
      ...(d.reason ? { reason: d.reason } : {}),
    }));
}

/** The stored call as the decision point and the executor see it. */
function toolCall(request: ApprovalRequest, definition: Tool): ToolCall {
  return {
    requestId: request.id,
    server: request.server,
    tool: request.tool,
    exposedName: request.exposedName,
    arguments: request.arguments,
    caller: auditCaller(request.caller),
    definition,
  };
}
