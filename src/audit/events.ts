import { z } from 'zod';
import { JsonObjectAsIs } from '../shared/json.js';
import { KeyRotationSchema } from './keys.js';

/**
 * The event vocabulary: everything Gatehouse does that an auditor may ask about, one zod schema per
 * event, discriminated by `event`. The audit log appends these as its records (inside the log line's
 * envelope of `seq`, `time` and `prev`); channels, waiters, tasks and exporters receive the same
 * objects. Arguments in events are always redacted (`redactArguments` of src/redact/); `argumentsDigest`
 * is a keyed digest of the full arguments, so the trail proves which arguments ran without letting
 * anyone guess a redacted low-entropy value by hashing candidates.
 *
 * Objects are strict: a field this version does not know is a newer writer's, and `verify` and the
 * reports must not silently ignore it.
 */

const Id = z.string().min(1);
/** `hmac-sha256:<hex>` keyed by the audit's digest key; `sha256:<hex>` where nothing is secret. */
const KeyedDigest = z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/);
const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const Time = z.iso.datetime({ offset: true });

export const AuditPrincipalSchema = z.strictObject({
  id: Id,
  groups: z.array(z.string()),
});
export type AuditPrincipal = z.infer<typeof AuditPrincipalSchema>;

export const AuditCallerSchema = AuditPrincipalSchema.extend({
  transport: z.enum(['stdio', 'http']),
  client: z.strictObject({ name: z.string(), version: z.string() }).optional(),
});
export type AuditCaller = z.infer<typeof AuditCallerSchema>;

/** Arguments as they may be shown: redacted values replaced, the paths that were redacted named. */
export const RedactedArgumentsSchema = z.strictObject({
  value: JsonObjectAsIs,
  /** JSON paths (`$.password`, `$.headers.Authorization`) whose values were replaced. */
  redacted: z.array(z.string()),
  digest: KeyedDigest,
});
export type RedactedArguments = z.infer<typeof RedactedArgumentsSchema>;

/** One human decision on a request, as it counted. */
export const AuditVerdictSchema = z.strictObject({
  approver: AuditPrincipalSchema,
  verdict: z.enum(['approve', 'reject']),
  at: Time,
  channel: z.string(),
  reason: z.string().optional(),
});
export type AuditVerdict = z.infer<typeof AuditVerdictSchema>;

/** The call an event is about: enough to answer "who ran what, where" from one record. */
const CallFields = {
  callId: Id,
  caller: AuditCallerSchema,
  server: Id,
  tool: Id,
  exposedName: Id,
} as const;

/**
 * An execution, allowed or approved: one record before the call and one after, each answering who
 * asked, which rules let it through under which policy set, who approved it, and which arguments ran.
 */
const ExecutionFields = {
  ...CallFields,
  rules: z.array(z.string()),
  policyVersion: z.string(),
  /** Present for approved calls: which request, and who approved it. */
  approvalId: Id.optional(),
  approvals: z.array(AuditVerdictSchema).optional(),
  argumentsDigest: KeyedDigest,
} as const;

const ErrorSchema = z.strictObject({ code: z.string(), message: z.string() });

/** A credential a call was given (or was to be given, when minting failed): never its value. */
export const CredentialUseSchema = z.strictObject({
  name: Id,
  source: z.enum(['static', 'command', 'oauth', 'vault']),
  /** The source's lease or token id: Vault's lease_id, a command's leaseId. */
  leaseId: z.string().optional(),
  /** sha256 of the scope, audience, resource and path rendered from the approved arguments. */
  scopeDigest: Digest.optional(),
  /** Whether its revocation after the call succeeded; absent when it was only discarded. */
  revoked: z.boolean().optional(),
});

/** What the records after an execution add about credentials: which were used, and the scrubber. */
const CredentialFields = {
  credentialsUsed: z.array(CredentialUseSchema).optional(),
  /**
   * How often a credential's value (or its base64 or URL-encoded form) was removed from what the call
   * produced (result, error, log lines while it ran). Absent: never.
   */
  credentialsScrubbed: z.number().int().positive().optional(),
} as const;

export const CallDecidedSchema = z.strictObject({
  event: z.literal('call.decided'),
  ...CallFields,
  effect: z.enum(['allow', 'deny', 'approve']),
  mode: z.enum(['enforce', 'shadow']),
  rules: z.array(z.string()),
  reason: z.string(),
  policyVersion: z.string(),
  arguments: RedactedArgumentsSchema,
});

export const ApprovalRequestedSchema = z.strictObject({
  event: z.literal('approval.requested'),
  ...CallFields,
  approvalId: Id,
  /** The invocation digest the approval is bound to (server, tool, definition, arguments, caller, policy). */
  digest: z.string(),
  toolDefinitionDigest: z.string(),
  rules: z.array(z.string()),
  reason: z.string(),
  policyVersion: z.string(),
  approvers: z.array(z.string()),
  quorum: z.number().int().positive(),
  expiresAt: Time,
  arguments: RedactedArgumentsSchema,
});

export const ApprovalDeliveredSchema = z.strictObject({
  event: z.literal('approval.delivered'),
  approvalId: Id,
  channel: z.string(),
  ok: z.boolean(),
  /** Where it went, without credentials (a Teams conversation, a webhook host). */
  target: z.string().optional(),
  error: z.string().optional(),
});

export const ApprovalDecidedSchema = z.strictObject({
  event: z.literal('approval.decided'),
  approvalId: Id,
  ...AuditVerdictSchema.shape,
  /** The request's state after this decision (`pending` while the quorum is not reached). */
  state: z.string(),
});

/** A decision that did not count, with why: self-approval, not listed, too late. Evidence too. */
export const ApprovalRefusedSchema = z.strictObject({
  event: z.literal('approval.refused'),
  approvalId: Id,
  approver: AuditPrincipalSchema,
  verdict: z.enum(['approve', 'reject']),
  channel: z.string(),
  code: z.string(),
  message: z.string(),
});

export const ApprovalExpiredSchema = z.strictObject({
  event: z.literal('approval.expired'),
  approvalId: Id,
  expiresAt: Time,
});

export const ApprovalCancelledSchema = z.strictObject({
  event: z.literal('approval.cancelled'),
  approvalId: Id,
  reason: z.string(),
  by: AuditPrincipalSchema.optional(),
});

export const ApprovalQuarantinedSchema = z.strictObject({
  event: z.literal('approval.quarantined'),
  approvalId: z.string(),
  reason: z.string(),
});

export const CallExecutingSchema = z.strictObject({
  event: z.literal('call.executing'),
  ...ExecutionFields,
});

export const CallExecutedSchema = z.strictObject({
  event: z.literal('call.executed'),
  ...ExecutionFields,
  /** The tool ran; `isError` is the tool's own verdict on its work. */
  isError: z.boolean(),
  resultDigest: Digest,
  ...CredentialFields,
});

export const CallFailedSchema = z.strictObject({
  event: z.literal('call.failed'),
  ...ExecutionFields,
  /**
   * False when the call was stopped before it was sent (re-check, server down, audit); true when it
   * was sent and may have taken effect (a timeout, a crash, a cancellation mid-call).
   */
  reachedServer: z.boolean(),
  error: ErrorSchema,
  ...CredentialFields,
});

/** Found `executing` after a crash: it may or may not have run, and is never re-run on its own. */
export const CallUnknownSchema = z.strictObject({
  event: z.literal('call.unknown'),
  approvalId: Id,
  server: Id,
  tool: Id,
  reason: z.string(),
});

export const PolicyLoadedSchema = z.strictObject({
  event: z.literal('policy.loaded'),
  version: z.string(),
  files: z.array(z.string()),
  rules: z.number().int().nonnegative(),
});

export const PolicyRejectedSchema = z.strictObject({
  event: z.literal('policy.rejected'),
  /** The version still in force. */
  version: z.string(),
  error: z.string(),
});

export const DownstreamConnectedSchema = z.strictObject({
  event: z.literal('downstream.connected'),
  server: Id,
  transport: z.string(),
  tools: z.number().int().nonnegative(),
  restarts: z.number().int().nonnegative(),
});

export const DownstreamFailedSchema = z.strictObject({
  event: z.literal('downstream.failed'),
  server: Id,
  /** `failed`: it did not start; `restarting`: it was lost and Gatehouse is reconnecting. */
  state: z.enum(['failed', 'restarting']),
  reason: z.string(),
});

export const ToolDefinitionChangedSchema = z.strictObject({
  event: z.literal('tool.definition_changed'),
  server: Id,
  tool: Id,
  /** Absent: the tool is new, or (after) it is gone. */
  before: z.string().optional(),
  after: z.string().optional(),
});

export const GatehouseStartedSchema = z.strictObject({
  event: z.literal('gatehouse.started'),
  version: z.string(),
  pid: z.number().int(),
  transport: z.enum(['stdio', 'http']),
  policyVersion: z.string(),
  servers: z.array(z.string()),
});

export const GatehouseStoppedSchema = z.strictObject({
  event: z.literal('gatehouse.stopped'),
  version: z.string(),
  pid: z.number().int(),
  reason: z.string(),
});

/** Not appended (checkpoints live beside the log); delivered to exporters. */
export const AuditCheckpointSchema = z.strictObject({
  event: z.literal('audit.checkpoint'),
  size: z.number().int().nonnegative(),
  rootHash: z.string(),
  keyName: z.string(),
});

/** A torn last line cut off at start-up (a crash in the middle of an append). */
export const AuditRepairedSchema = z.strictObject({
  event: z.literal('audit.repaired'),
  file: z.string(),
  bytes: z.number().int().nonnegative(),
});

export const AuditEventSchema = z.discriminatedUnion('event', [
  CallDecidedSchema,
  ApprovalRequestedSchema,
  ApprovalDeliveredSchema,
  ApprovalDecidedSchema,
  ApprovalRefusedSchema,
  ApprovalExpiredSchema,
  ApprovalCancelledSchema,
  ApprovalQuarantinedSchema,
  CallExecutingSchema,
  CallExecutedSchema,
  CallFailedSchema,
  CallUnknownSchema,
  PolicyLoadedSchema,
  PolicyRejectedSchema,
  DownstreamConnectedSchema,
  DownstreamFailedSchema,
  ToolDefinitionChangedSchema,
  GatehouseStartedSchema,
  GatehouseStoppedSchema,
  AuditCheckpointSchema,
  AuditRepairedSchema,
  KeyRotationSchema,
]);
export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type AuditEventName = AuditEvent['event'];
export type EventOf<N extends AuditEventName> = Extract<AuditEvent, { event: N }>;

/** Events that govern an execution: fsync'd before the execution they govern proceeds. */
export const DURABLE_EVENTS: ReadonlySet<AuditEventName> = new Set([
  'approval.requested',
  'approval.decided',
  'approval.refused',
  'approval.expired',
  'approval.cancelled',
  'approval.quarantined',
  'call.executing',
  'call.executed',
  'call.failed',
  'call.unknown',
  'audit.key_rotated',
]);

/**
 * Events made only of what Gatehouse itself puts together (ids, names, digests, the policy's rules
 * and reason, arguments redacted when the event is built): the bus need not scan them for secrets
 * again. They are the three records of every allowed call, so this keeps that scan off the hot path.
 */
export const REDACTED_WHEN_BUILT: ReadonlySet<AuditEventName> = new Set([
  'call.decided',
  'call.executing',
  'call.executed',
]);

/** Events the bus delivers but the log does not append. */
export const UNRECORDED_EVENTS: ReadonlySet<AuditEventName> = new Set(['audit.checkpoint']);

/** The caller as records keep it. */
export function auditCaller(caller: {
  id: string;
  groups: readonly string[];
  transport?: 'stdio' | 'http';
  client?: { name: string; version: string };
}): AuditCaller {
  return {
    id: caller.id,
    groups: [...caller.groups],
    // Requests stored before schema version 2 lack the transport; they came from the stdio era.
    transport: caller.transport ?? 'stdio',
    ...(caller.client ? { client: { name: caller.client.name, version: caller.client.version } } : {}),
  };
}
