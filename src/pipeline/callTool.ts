import { randomUUID } from 'node:crypto';
import {
  type CallToolRequest,
  type CallToolResult,
  type RequestId,
  type Result,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { resultForRequest } from '../approvals/results.js';
import type { ApprovalRequest } from '../approvals/request.js';
import type { ApprovalRuntime } from '../approvals/service.js';
import { isOpen } from '../approvals/states.js';
import type { CreateTaskResult } from '@modelcontextprotocol/sdk/experimental/tasks/index.js';
import type { RequestTaskStore } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { TaskBridge } from '../front/tasks.js';
import { BUILTIN_TOOL_NAMES, callBuiltinTool } from '../approvals/tools.js';
import type { Decision, DecisionPoint } from '../decision/types.js';
import { progressTo, type DownstreamConnection } from '../downstream/connection.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import { toolErrorResult } from '../front/errors.js';
import type { Requester } from '../front/sessions.js';
import type { Logger } from '../log.js';
import type { EventBus } from '../audit/bus.js';
import { auditCaller, type AuditEvent } from '../audit/events.js';
import { auditRefusal } from '../audit/trail.js';
import type { Executor } from '../execution/executor.js';
import type { RedactedArguments } from '../redact/index.js';
import type { ToolCall } from './toolCall.js';

export interface PipelineDeps {
  pool: DownstreamPool;
  approvals: ApprovalRuntime;
  /** The one path every downstream tools/call runs through. */
  executor: Executor;
  /** Where decisions are recorded. */
  events: EventBus;
  /** Redacted arguments and their keyed digest, as records show them. */
  redact: (args: Record<string, unknown>) => RedactedArguments;
  maxWaitSeconds: number;
  /** Read per call: a policy reload swaps the decision point atomically. */
  decisionPoint: () => DecisionPoint;
  logger: Logger;
}

export interface CallContext {
  signal: AbortSignal;
  /** The client's JSON-RPC id of this tools/call. */
  requestId?: RequestId;
  progressToken?: string | number;
  sendNotification: (notification: ServerNotification) => Promise<void>;
  /** Present when the client asked for this call to run as a task. */
  task?: { bridge: TaskBridge; store: RequestTaskStore; ttl?: number };
  /**
   * How a held call is answered when the client's era has its own way (a 2026-07-28 client that
   * declared the Tasks extension gets a task); by default, the request's state as a tool result.
   */
  held?: (request: ApprovalRequest, hasOutputSchema: boolean) => Result;
}

/** Why a gated call could not be held for approval: it fails closed, with the reason for the model. */
const HOLD_FAILURES = new Set(['STORE_LOCKED', 'STORE_UNAVAILABLE', 'AUDIT_LOG_UNAVAILABLE']);

function notHeld(call: ToolCall, error: GatehouseError): CallToolResult {
  return toolErrorResult(
    `This call to ${call.exposedName} needs human approval, but this Gatehouse cannot record approval ` +
      `requests (${error.message}). The call was not executed.`,
    { code: error.code },
  );
}

/** Failures the model should read as the call's outcome, not a protocol fault. */
const EXECUTION_FAILURES = new Set([
  'DOWNSTREAM_TIMEOUT',
  'DOWNSTREAM_CLOSED',
  'DOWNSTREAM_UNAVAILABLE',
  'DOWNSTREAM_INVALID',
  'AUDIT_LOG_UNAVAILABLE',
  'CREDENTIAL_UNAVAILABLE',
]);

const RUNNING: readonly ApprovalRequest['state'][] = ['approved', 'executing'];

/**
 * A retry that joins an approved request whose call is running waits for its result (up to the wait
 * tool's bound), as a direct call would: the human decision is made, and "executing now" would only send
 * the model round again. Cancelling the retry stops the wait, never the approved call.
 */
async function runningToEnd(
  deps: PipelineDeps,
  request: ApprovalRequest,
  signal: AbortSignal,
): Promise<ApprovalRequest> {
  if (!RUNNING.includes(request.state)) return request;
  const ended = await deps.approvals.waitWhile(request.id, RUNNING, deps.maxWaitSeconds * 1000, signal);
  return ended ?? request;
}

/**
 * Every tools/call travels this one function: receive → decide → (approve) → execute.
 * It is the only path from a client to a downstream tool.
 */
export async function callTool(
  deps: PipelineDeps,
  session: Requester,
  params: CallToolRequest['params'],
  context: CallContext,
): Promise<CallToolResult | CreateTaskResult | Result> {
  if (BUILTIN_TOOL_NAMES.has(params.name)) {
    const run = () =>
      callBuiltinTool(params.name, params.arguments, {
        approvals: deps.approvals,
        caller: session.caller,
        maxWaitSeconds: deps.maxWaitSeconds,
        ...context,
      });
    return context.task ? context.task.bridge.forCall(context.task.store, context.task.ttl, run) : run();
  }
  const { call, down } = receive(deps, session, params);
  const decision = await decide(deps.decisionPoint(), call);
  // Plain allows are the bulk of traffic and go to the audit trail; the log keeps what needs a look.
  const routine = decision.effect === 'allow' && decision.mode === 'enforce';
  const level = routine ? 'debug' : 'info';
  // Its fields are built only for a level that is logged: at the default level, allows are not.
  if (deps.logger.isLevelEnabled(level)) {
    deps.logger[level](
      {
        requestId: call.requestId,
        server: call.server,
        tool: call.tool,
        caller: call.caller.id,
        effect: decision.effect,
        rules: decision.rules,
        mode: decision.mode,
        policyVersion: decision.policyVersion,
      },
      'tool call decided',
    );
  }
  const { task } = context;
  const denies = decision.mode === 'enforce' && decision.effect === 'deny';
  const args = deps.redact(call.arguments);
  const recorded = deps.events.publishQueued(decidedEvent(call, decision, args));
  // A denial stands whether or not it is recorded; anything that may run needs its record.
  if (denies) {
    recorded.catch((error: unknown) =>
      deps.logger.error({ requestId: call.requestId, reason: String(error) }, 'denial not recorded'),
    );
  } else {
    const refused = await recorded.then(
      () => undefined,
      (error: unknown) => auditRefusal(error),
    );
    if (refused) return toolErrorResult(`Gatehouse: ${refused.message}`, { code: refused.code });
  }

  // Refused calls stay refused while the server is down; the rest learn which server is down and why.
  if (down && !denies) return serverDown(call, down);
  if (decision.mode === 'enforce' && decision.effect === 'approve') {
    // Durable before anything is answered: the request is in the store when the model hears of it.
    const held = await deps.approvals.requestFor(call, decision, args).catch((error: unknown) => {
      if (isGatehouseError(error) && HOLD_FAILURES.has(error.code)) return error;
      throw error;
    });
    if (held instanceof GatehouseError) return notHeld(call, held);
    const { request } = held;
    // This session asked: it is the one told the outcome (front/outcomeNotices.ts).
    if (isOpen(request.state)) session.askedFor.add(request.id);
    const hasOutputSchema = call.definition.outputSchema !== undefined;
    if (task) return task.bridge.forApproval(task.store, task.ttl, request, hasOutputSchema);
    if (context.held) return context.held(request, hasOutputSchema);
    return resultForRequest(
      await runningToEnd(deps, request, context.signal),
      hasOutputSchema,
      deps.approvals,
    );
  }
  // A task outlives its tools/call request, so its downstream call gets a signal of its own (a fresh
  // one each time: the SDK never removes the abort listeners it adds to a signal).
  const run = (): Promise<CallToolResult> =>
    denies
      ? Promise.resolve(denied(call, decision))
      : execute(
          deps,
          session,
          call,
          params,
          decision,
          args.digest,
          task ? { ...context, signal: new AbortController().signal } : context,
        );
  return task ? task.bridge.forCall(task.store, task.ttl, run) : run();
}

/**
 * The call as Gatehouse decides it. A tool whose server is down is known by the definition that server
 * last listed, with the server's `down` status: the call is decided, then answered with that state.
 */
function receive(
  deps: PipelineDeps,
  session: Requester,
  params: CallToolRequest['params'],
): { call: ToolCall; down?: DownstreamConnection } {
  const listed = deps.pool.tools.byExposedName.get(params.name);
  const lastListed = listed ? undefined : deps.pool.listedBeforeOutage(params.name);
  const entry = listed ?? lastListed;
  if (!entry) {
    const collision = deps.pool.tools.collisions.find((c) => c.exposedName === params.name);
    throw new GatehouseError(
      'UNKNOWN_TOOL',
      collision
        ? `Tool ${params.name} is unavailable: ${collision.sources.map((s) => `"${s.server}"`).join(' and ')} both expose it (configuration error)`
        : `Tool ${params.name} not found`,
      { tool: params.name },
    );
  }
  const call: ToolCall = {
    requestId: randomUUID(),
    server: entry.server,
    tool: entry.name,
    exposedName: entry.exposedName,
    arguments: params.arguments ?? {},
    caller: session.caller,
    definition: entry.item,
  };
  return lastListed ? { call, down: deps.pool.get(entry.server)! } : { call };
}

/** A tool error the model can read: which server is down, since when, in what state and why. */
function serverDown(call: ToolCall, server: DownstreamConnection): CallToolResult {
  const { name, state, lastError, lostAt } = server;
  const since = lostAt ? ` since ${lostAt.toISOString()}` : '';
  return toolErrorResult(
    `Gatehouse: ${call.exposedName} is unavailable: its server "${name}" has been down${since} ` +
      `(${state}${lastError ? `; last error: ${lastError}` : ''}). Gatehouse reconnects to it by ` +
      'itself; the call was not executed, and may be retried once the server is back.',
    { code: 'DOWNSTREAM_UNAVAILABLE', server: name, state },
  );
}

/** A decision point that throws denies: fail closed. */
async function decide(point: DecisionPoint, call: ToolCall): Promise<Decision> {
  try {
    return await point.decide(call, new Date());
  } catch (error) {
    return {
      effect: 'deny',
      rules: [],
      reason: `the policy engine failed: ${error instanceof Error ? error.message : String(error)}`,
      policyVersion: 'unknown',
      mode: 'enforce',
    };
  }
}

function denied(call: ToolCall, decision: Decision): CallToolResult {
  const rule = decision.rules.length > 0 ? `rule ${decision.rules.join(', ')}` : 'the default policy';
  return toolErrorResult(
    `Gatehouse denied this call to ${call.exposedName} (${rule}): ${decision.reason}. ` +
      'The call was not executed; retrying it unchanged will be denied again.',
    { effect: 'deny', rules: decision.rules, policyVersion: decision.policyVersion },
  );
}

/** The call.decided record: what was decided, on which rules and policy set, for whom, on what. */
function decidedEvent(call: ToolCall, decision: Decision, args: RedactedArguments): AuditEvent {
  return {
    event: 'call.decided',
    callId: call.requestId,
    caller: auditCaller(call.caller),
    server: call.server,
    tool: call.tool,
    exposedName: call.exposedName,
    effect: decision.effect,
    mode: decision.mode,
    rules: decision.rules,
    reason: decision.reason,
    policyVersion: decision.policyVersion,
    arguments: args,
  };
}

async function execute(
  deps: PipelineDeps,
  session: Requester,
  call: ToolCall,
  params: CallToolRequest['params'],
  decision: Decision,
  argumentsDigest: string,
  context: CallContext,
): Promise<CallToolResult> {
  const { progressToken } = context;
  // The params as the client sent them, but for the name the server knows and the task Gatehouse runs.
  const { task: _runHere, ...forward } = params;
  const outcome = await deps.executor.execute({
    call,
    params: { ...forward, name: call.tool },
    rules: decision.rules,
    policyVersion: decision.policyVersion,
    argumentsDigest,
    // Only a call the policy allows outright gets its rules' credentials (not one shadow mode lets by).
    ...(decision.effect === 'allow' && decision.credentials ? { credentials: decision.credentials } : {}),
    forward: {
      sessionId: session.id,
      relatedRequestId: context.requestId,
      signal: context.signal,
      logLevel: session.logLevel,
      ...(progressToken !== undefined
        ? { progress: progressTo(progressToken, context.sendNotification) }
        : {}),
    },
  });
  if (outcome.ok) return outcome.result;
  const { error } = outcome;
  if (isGatehouseError(error, 'CLIENT_CANCELLED')) {
    deps.logger.info(
      { requestId: call.requestId, reason: error.message },
      'tool call cancelled by the client',
    );
    throw error;
  }
  if (isGatehouseError(error) && EXECUTION_FAILURES.has(error.code)) {
    deps.logger.warn(
      { requestId: call.requestId, code: error.code, reason: error.message },
      'tool call failed downstream',
    );
    return toolErrorResult(`Gatehouse: ${error.message}`, { code: error.code });
  }
  throw error;
}
