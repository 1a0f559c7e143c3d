import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { ApprovalRequestSchema, type ApprovalRequest, type ApprovalState } from '../approvals/request.js';
import { canTransition, isTerminal, verifyDigest } from '../approvals/states.js';
import { GatehouseError } from '../errors.js';

/**
 * What every store checks before it writes, whatever keeps the data: one set of rules, so the file
 * store and the shared database refuse exactly the same writes with the same messages.
 */

/** A private, validated copy whose stored fields still hash to its digest. */
export function checked(request: ApprovalRequest, name: string): ApprovalRequest {
  const parsed = ApprovalRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw conflict(
      name,
      `approval ${String(request?.id)} does not match the schema: ${parsed.error.issues[0]?.message}`,
    );
  }
  if (!verifyDigest(parsed.data)) {
    throw conflict(name, `approval ${parsed.data.id}: the stored invocation does not match its digest`);
  }
  // The parse may share nested argument values with the caller's object.
  return structuredClone(parsed.data);
}

/** A new request as a store takes it: valid, bound to its digest, and pending. */
export function checkedNew(request: ApprovalRequest, name: string): ApprovalRequest {
  const candidate = checked(request, name);
  if (candidate.state !== 'pending') {
    throw conflict(name, `approval ${candidate.id} is ${candidate.state}; only a pending request is created`);
  }
  return candidate;
}

/**
 * Runs a transition's `update` on a copy of `current` (which is in `expected`) and checks its result:
 * undefined when it changes nothing (nothing to write), else the validated next request. Throws what
 * `update` throws, and STORE_CONFLICT for a change of id or binding, of a final request, or a move the
 * transition table does not allow.
 */
export function nextRequest(
  current: ApprovalRequest,
  expected: ApprovalState,
  update: (current: ApprovalRequest) => ApprovalRequest,
  name: string,
): ApprovalRequest | undefined {
  const id = current.id;
  const next = checked(update(structuredClone(current)), name);
  if (isDeepStrictEqual(next, current)) return undefined;
  if (next.id !== id || next.digest !== current.digest) {
    throw conflict(name, `an update of approval ${id} changed its id or the invocation it is bound to`);
  }
  if (isTerminal(expected)) throw conflict(name, `approval ${id} is ${expected}, which is final`);
  if (next.state !== expected && !canTransition(expected, next.state)) {
    throw conflict(name, `approval ${id} cannot go from ${expected} to ${next.state}`);
  }
  return next;
}

/** A validated private copy of a record handed in from outside, or STORE_CONFLICT naming what is wrong. */
export function parsed<T>(schema: z.ZodType<T>, value: T, what: string): T {
  const result = schema.safeParse(structuredClone(value));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new GatehouseError(
    'STORE_CONFLICT',
    `the ${what} does not match the schema: ${issue?.path.join('.')}: ${issue?.message}`,
  );
}

export function conflict(name: string, message: string): GatehouseError {
  return new GatehouseError('STORE_CONFLICT', `${name}: ${message}`, { store: name });
}

export function notFound(id: string): GatehouseError {
  return new GatehouseError('APPROVAL_NOT_FOUND', `no approval request with id ${id}`, { id });
}
