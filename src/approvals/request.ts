import { CallToolResultSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { JsonObjectAsIs } from '../shared/json.js';
import { passThrough } from '../shared/passThrough.js';
import { DigestSchema } from './digest.js';

/**
 * The approval request as it is stored: the schema is the source of truth, types are derived from it.
 * Objects are strict because a stored field this version does not know means a newer writer, and
 * stripping it on the next write would lose data silently.
 */

export const APPROVAL_STATES = [
  'pending',
  'approved',
  'executing',
  'executed',
  'failed',
  'rejected',
  'expired',
  'cancelled',
  'unknown',
] as const;
export const ApprovalStateSchema = z.enum(APPROVAL_STATES);
export type ApprovalState = z.infer<typeof ApprovalStateSchema>;

const Time = z.iso.datetime({ offset: true });

/** Who asks or decides: a stable principal id and the groups it belonged to at that moment. */
export const PrincipalSchema = z.strictObject({
  id: z.string().min(1),
  groups: z.array(z.string().min(1)).default([]),
});
export type Principal = z.infer<typeof PrincipalSchema>;

/**
 * The requester as the decision saw it: transport and client are kept so the re-check before execution
 * decides the same call (absent in requests stored before schema version 2).
 */
export const CallerSchema = PrincipalSchema.extend({
  transport: z.enum(['stdio', 'http']).optional(),
  client: z.strictObject({ name: z.string(), version: z.string() }).optional(),
});
export type StoredCaller = z.infer<typeof CallerSchema>;

/** A principal as callers hold one (the pipeline's Caller has readonly groups); copied when stored. */
export interface Identity {
  readonly id: string;
  readonly groups: readonly string[];
}

/** `alice` or `user:alice` names a user id; `group:security` names every member of that group. */
export const ApproverEntrySchema = z
  .string()
  .regex(/^(?:group:|user:)?[^\s:]\S*$/, 'an approver is a user id, user:<id> or group:<name>');

/** One approve rule's demand: `quorum` distinct people, each matching one of `approvers`. */
export const RequirementSchema = z.strictObject({
  rule: z.string().min(1),
  approvers: z.array(ApproverEntrySchema).min(1),
  quorum: z.number().int().positive(),
});
export type Requirement = z.infer<typeof RequirementSchema>;

export const DecisionRecordSchema = z.strictObject({
  /** As authenticated by the channel; groups are kept so the tally can be recomputed and audited. */
  approver: PrincipalSchema,
  decision: z.enum(['approve', 'reject']),
  reason: z.string().optional(),
  at: Time,
  /** The channel that carried the decision (`web`, `api`, ...). */
  channel: z.string().optional(),
});
export type DecisionRecord = z.infer<typeof DecisionRecordSchema>;

/** What `toolDefinitionDigest` covers, kept so approvers see the tool they approve (schema version 3). */
export const ToolDefinitionSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  inputSchema: JsonObjectAsIs,
});

export type ToolDefinition = z.infer<typeof ToolDefinitionSchema>;

/** The part of a listed tool that an approval is bound to, as a request stores it. */
export function toolDefinitionOf(tool: Pick<Tool, 'name' | 'description' | 'inputSchema'>): ToolDefinition {
  return ToolDefinitionSchema.parse({
    name: tool.name,
    ...(tool.description !== undefined ? { description: tool.description } : {}),
    inputSchema: tool.inputSchema,
  });
}

export const ExecutionErrorSchema = z.strictObject({
  code: z.string().min(1),
  message: z.string(),
  /** TOOL_DEFINITION_CHANGED: the definition the server listed at the re-check, which blocked the call. */
  toolDefinition: ToolDefinitionSchema.optional(),
});
export type ExecutionError = z.infer<typeof ExecutionErrorSchema>;

/** The downstream's result as it sent it: fields the SDK's schema does not know are kept, not stripped. */
const StoredResultSchema = passThrough(CallToolResultSchema);

/**
 * `startedAt` is absent when the re-check before execution blocked the call: it failed without running.
 * `result` is the downstream answer (an isError result still means the tool ran); `error` says why
 * there is no result.
 */
export const ExecutionSchema = z.strictObject({
  startedAt: Time.optional(),
  finishedAt: Time.optional(),
  result: StoredResultSchema.optional(),
  error: ExecutionErrorSchema.optional(),
});
export type Execution = z.infer<typeof ExecutionSchema>;

export const ApprovalRequestSchema = z.strictObject({
  id: z.string().min(1),
  /** `invocationDigest` of server, tool, toolDefinitionDigest, arguments, caller.id and policyVersion. */
  digest: DigestSchema,
  server: z.string().min(1),
  tool: z.string().min(1),
  exposedName: z.string().min(1),
  toolDefinitionDigest: DigestSchema,
  /** The definition toolDefinitionDigest is the digest of; absent in requests stored before version 3. */
  toolDefinition: ToolDefinitionSchema.optional(),
  /**
   * The requester's latest earlier request for this same call (server, tool, arguments) that was made
   * against another definition of the tool: its id, its state when this one was made, and that
   * definition. Why this is a new request rather than a retry joining that one.
   */
  definitionChangedSince: z
    .strictObject({
      id: z.string().min(1),
      state: ApprovalStateSchema,
      toolDefinition: ToolDefinitionSchema.optional(),
    })
    .optional(),
  arguments: JsonObjectAsIs,
  caller: CallerSchema,
  /** Ids of the approve rules that matched, sorted. */
  rules: z.array(z.string().min(1)).min(1),
  /** The rule's reason, shown to approvers and to the model. */
  reason: z.string(),
  /** Everyone who may approve (the union over `requirements`): whom to notify. */
  approvers: z.array(ApproverEntrySchema).min(1),
  /** The largest quorum among the requirements, for display; `requirements` decide. */
  quorum: z.number().int().positive(),
  /** Approved only when every requirement is met. */
  requirements: z.array(RequirementSchema).min(1),
  ttlMs: z.number().int().positive(),
  expiresAt: Time,
  /** Absent: all configured channels. */
  channels: z.array(z.string().min(1)).optional(),
  policyVersion: z.string().min(1),
  createdAt: Time,
  state: ApprovalStateSchema,
  decisions: z.array(DecisionRecordSchema),
  execution: ExecutionSchema.optional(),
  /** Why a request ended without running: rejected, expired, cancelled or unknown. */
  closed: z.strictObject({ at: Time, reason: z.string() }).optional(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequestSchema>;

/**
 * The latest moment the request changed, as far as its record tells: created, decided, started,
 * finished or closed. What "recent" means on the page, and a task's `lastUpdatedAt`.
 */
export function lastChangeOf(request: ApprovalRequest): string {
  const times = [
    request.createdAt,
    ...request.decisions.map((d) => d.at),
    request.execution?.startedAt,
    request.execution?.finishedAt,
    request.closed?.at,
  ].filter((t): t is string => t !== undefined);
  return times.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
}
