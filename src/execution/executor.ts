import {
  CallToolResultSchema,
  McpError,
  type CallToolRequest,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { sha256Canonical } from '../approvals/digest.js';
import type { EventBus } from '../audit/bus.js';
import { auditCaller, type AuditVerdict, type EventOf } from '../audit/events.js';
import type { Appended } from '../audit/log.js';
import type { ForwardOptions } from '../downstream/connection.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import { passThrough } from '../shared/passThrough.js';

/**
 * The one place a downstream tools/call runs, allowed and approved calls alike. It writes the audit
 * record before the call (a call whose record cannot be written does not run) and after it. Approved
 * calls' records are fsync'd before the call proceeds; an allowed call's records share group commits
 * while the trail is healthy (see EventBus.publishQueued). Per-call concerns (credentials, limits)
 * attach here, once.
 */

/** The server's result is validated and kept as sent: fields the SDK does not know reach the caller. */
const CALL_RESULT = passThrough(CallToolResultSchema);

export interface Invocation {
  call: ToolCall;
  /**
   * What the server receives: the client's params as sent for an allowed call, the stored arguments
   * for an approved one; `name` is the server's own name of the tool.
   */
  params: CallToolRequest['params'];
  /** The rules that let the call through, under this policy set. */
  rules: string[];
  policyVersion: string;
  /** The keyed digest of the full arguments (audit/redact). */
  argumentsDigest: string;
  /** An approved call: its request, and the approvals that counted. */
  approval?: { id: string; approvals: AuditVerdict[] };
  forward: ForwardOptions;
}

export type Outcome =
  | { ok: true; result: CallToolResult; afterRecord?: Appended }
  | {
      ok: false;
      error: unknown;
      /** The error's code as the audit record and the approval request keep it. */
      code: string;
      message: string;
      /** False when the call was never sent; true when it was and may have taken effect. */
      reachedServer: boolean;
    };

export interface ExecutorDeps {
  pool: DownstreamPool;
  events: EventBus;
  logger: Logger;
}

export function createExecutor(deps: ExecutorDeps) {
  const log = deps.logger.child({ module: 'executor' });

  async function execute(invocation: Invocation): Promise<Outcome> {
    const { call, approval } = invocation;
    const durable = approval !== undefined;
    const fields = executionFields(invocation);
    const connection = deps.pool.get(call.server);
    if (!connection || connection.state !== 'ready') {
      const error = new GatehouseError(
        'DOWNSTREAM_UNAVAILABLE',
        `server "${call.server}" is not connected (${connection?.state ?? 'unknown'})`,
        { server: call.server },
      );
      return failed(fields, error, false, durable);
    }
    try {
      const executing: EventOf<'call.executing'> = { event: 'call.executing', ...fields };
      if (durable) await deps.events.publish(executing);
      else await deps.events.publishQueued(executing);
    } catch (error) {
      // Not run, and not recordable either: the trail is what failed.
      log.error({ callId: call.requestId, reason: (error as Error).message }, 'call refused: no audit record');
      return { ok: false, error, ...codeOf(error), reachedServer: false };
    }
    let result: CallToolResult;
    try {
      result = (await connection.request(
        { method: 'tools/call', params: invocation.params },
        CALL_RESULT,
        invocation.forward,
      )) as CallToolResult;
    } catch (error) {
      return failed(fields, error, true, durable);
    }
    const afterRecord = await recordAfter(
      {
        event: 'call.executed',
        ...fields,
        isError: result.isError === true,
        resultDigest: `sha256:${sha256Canonical(result)}`,
      },
      durable,
    );
    return { ok: true, result, ...(afterRecord ? { afterRecord } : {}) };
  }

  async function failed(
    fields: ExecutionFields,
    error: unknown,
    reachedServer: boolean,
    durable: boolean,
  ): Promise<Outcome> {
    const { code, message } = codeOf(error);
    await recordAfter(
      { event: 'call.failed', ...fields, reachedServer, error: { code, message } },
      durable,
    );
    return { ok: false, error, code, message, reachedServer };
  }

  /**
   * The record after the call. The call has happened (or failed) whatever becomes of it: a trail that
   * cannot take it is logged and shows in status, and the next call's record fails closed.
   */
  async function recordAfter(
    event: EventOf<'call.executed'> | EventOf<'call.failed'>,
    durable: boolean,
  ): Promise<Appended | undefined> {
    try {
      if (durable) return await deps.events.publish(event);
      await deps.events.publishQueued(event);
    } catch (error) {
      log.error(
        { callId: event.callId, event: event.event, reason: (error as Error).message },
        'the audit record after a call could not be written',
      );
    }
    return undefined;
  }

  return { execute };
}

export type Executor = ReturnType<typeof createExecutor>;

type ExecutionFields = Omit<EventOf<'call.executing'>, 'event'>;

function executionFields(invocation: Invocation): ExecutionFields {
  const { call, approval } = invocation;
  return {
    callId: call.requestId,
    caller: auditCaller(call.caller),
    server: call.server,
    tool: call.tool,
    exposedName: call.exposedName,
    rules: invocation.rules,
    policyVersion: invocation.policyVersion,
    ...(approval ? { approvalId: approval.id, approvals: approval.approvals } : {}),
    argumentsDigest: invocation.argumentsDigest,
  };
}

/** What the record and the request keep of an error: a stable code and a message safe to show. */
function codeOf(error: unknown): { code: string; message: string } {
  if (isGatehouseError(error)) return { code: error.code, message: error.message };
  if (error instanceof McpError) return { code: `MCP_${error.code}`, message: error.message };
  return { code: 'DOWNSTREAM_ERROR', message: error instanceof Error ? error.message : String(error) };
}
