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
import { auditRefusal } from '../audit/trail.js';
import type { ForwardOptions } from '../downstream/connection.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import type { CredentialBroker, CredentialUse, Grant } from '../credentials/broker.js';
import type { DownstreamConnection } from '../downstream/connection.js';
import { anyKnownCredential, scrubCredentials, scrubCredentialsIn } from '../redact/known.js';
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
  /** The credentials the deciding rules give this call (names the server defines). */
  credentials?: readonly string[];
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
  /** Mints the credentials a call is given; absent: no server defines any. */
  credentials?: Pick<CredentialBroker, 'mint'>;
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
      const refusal = auditRefusal(error);
      log.error({ callId: call.requestId, reason: refusal.message }, 'call refused: no audit record');
      return { ok: false, error: refusal, ...codeOf(refusal), reachedServer: false };
    }
    // Minted only now: the call is claimed and recorded, so nothing that stops short of running it
    // (a replay, a stored outcome, a lost claim, a trail that refuses) ever holds a credential.
    const minted = await mintFor(invocation, fields, durable);
    if ('refused' in minted) return minted.refused;
    const { grant } = minted;
    // A stdio server takes its credentials in a process started for this call.
    let perCall: DownstreamConnection | undefined;
    if (grant && Object.keys(grant.env).length > 0) {
      try {
        perCall = await deps.pool.startForCall(call.server, grant.env);
      } catch (error) {
        const hits = scrubError(error);
        await grant.release();
        return failed(fields, error, false, durable, credentialFields(grant, hits));
      }
    }
    let sent: CallToolResult;
    try {
      sent = (await (perCall ?? connection).request(
        { method: 'tools/call', params: invocation.params },
        CALL_RESULT,
        grant && !perCall ? { ...invocation.forward, headers: grant.headers } : invocation.forward,
      )) as CallToolResult;
    } catch (error) {
      const hits = scrubError(error);
      await perCall?.stop();
      await grant?.release();
      // Refused before it was sent: a transport that cannot carry the credential on this request alone.
      const reached = !isGatehouseError(error, 'CREDENTIAL_UNAVAILABLE');
      return failed(fields, error, reached, durable, credentialFields(grant, hits));
    }
    await perCall?.stop();
    // What the call returned never shows a credential's value: not to the client, the store, the
    // trail, a card or the page. Scrubbed before the release, while every value is still known.
    const { value: result, hits } = scrubCredentialsIn(sent);
    if (hits > 0)
      log.warn(
        { callId: call.requestId, replaced: hits },
        "a credential's value was removed from a tool result",
      );
    await grant?.release();
    const afterRecord = await recordAfter(
      {
        event: 'call.executed',
        ...fields,
        isError: result.isError === true,
        resultDigest: `sha256:${sha256Canonical(result)}`,
        ...credentialFields(grant, hits),
      },
      durable,
    );
    return { ok: true, result, ...(afterRecord ? { afterRecord } : {}) };
  }

  /** The call's credentials, or the outcome of a call refused for want of one (recorded). */
  async function mintFor(
    invocation: Invocation,
    fields: ExecutionFields,
    durable: boolean,
  ): Promise<{ grant?: Grant } | { refused: Outcome }> {
    const { call, approval, credentials: names } = invocation;
    if (!names?.length) return {};
    if (!deps.credentials) {
      const error = new GatehouseError(
        'CREDENTIAL_UNAVAILABLE',
        `a rule gives this call credentials (${names.join(', ')}), but no credentials are configured; the call was not executed`,
        { server: call.server },
      );
      return { refused: await failed(fields, error, false, durable) };
    }
    try {
      return {
        grant: await deps.credentials.mint({
          server: call.server,
          names,
          call,
          ...(approval ? { approvalId: approval.id } : {}),
        }),
      };
    } catch (error) {
      log.warn({ callId: call.requestId, reason: codeOf(error).message }, 'call refused: no credential');
      const uses = isGatehouseError(error, 'CREDENTIAL_UNAVAILABLE')
        ? (error.context.uses as CredentialUse[] | undefined)
        : undefined;
      return { refused: await failed(fields, error, false, durable, uses ? { credentialsUsed: uses } : {}) };
    }
  }

  async function failed(
    fields: ExecutionFields,
    error: unknown,
    reachedServer: boolean,
    durable: boolean,
    credentials: Pick<EventOf<'call.failed'>, 'credentialsUsed' | 'credentialsScrubbed'> = {},
  ): Promise<Outcome> {
    const { code, message } = codeOf(error);
    await recordAfter(
      { event: 'call.failed', ...fields, reachedServer, error: { code, message }, ...credentials },
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

/** What the records after a call say of its credentials: which, and whether the scrubber fired. */
function credentialFields(
  grant: Grant | undefined,
  hits: number,
): Pick<EventOf<'call.executed'>, 'credentialsUsed' | 'credentialsScrubbed'> {
  const scrubbed = Math.max(hits, grant?.scrubbed() ?? 0);
  return {
    ...(grant ? { credentialsUsed: grant.uses.map((u) => ({ ...u })) } : {}),
    ...(scrubbed > 0 ? { credentialsScrubbed: scrubbed } : {}),
  };
}

/**
 * Replaces a credential's value in an error's message in place (the error goes on to the model and
 * the request as it is); returns how many were replaced.
 */
function scrubError(error: unknown): number {
  if (!(error instanceof Error) || !anyKnownCredential()) return 0;
  const scrubbed = scrubCredentials(error.message);
  if (scrubbed.hits > 0) error.message = scrubbed.text;
  return scrubbed.hits;
}

/** What the record and the request keep of an error: a stable code and a message safe to show. */
function codeOf(error: unknown): { code: string; message: string } {
  if (isGatehouseError(error)) return { code: error.code, message: error.message };
  if (error instanceof McpError) return { code: `MCP_${error.code}`, message: error.message };
  return { code: 'DOWNSTREAM_ERROR', message: error instanceof Error ? error.message : String(error) };
}
