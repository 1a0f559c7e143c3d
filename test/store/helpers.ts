import { GatehouseError } from '../../src/errors.js';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import { newApprovalRequest, type NewApprovalRequest } from '../../src/approvals/states.js';

export const T0 = new Date('2026-01-01T00:00:00.000Z');
export const at = (ms: number) => new Date(T0.getTime() + ms);

export const alice = { id: 'alice', groups: ['dev'] };
export const bob = { id: 'bob', groups: ['security'] };

/** A pending request from alice that bob (or any `security` member) may approve; `n` varies the arguments. */
export function sampleRequest(n: number, overrides: Partial<NewApprovalRequest> = {}): ApprovalRequest {
  return newApprovalRequest(
    {
      id: `req-${n}`,
      server: 'fs',
      tool: 'write_file',
      exposedName: 'fs__write_file',
      toolDefinitionDigest: 'd'.repeat(64),
      arguments: { path: `/tmp/out-${n}.txt`, content: `content ${n}` },
      caller: alice,
      reason: 'writes need approval',
      requirements: [{ rule: 'writes', approvers: ['group:security'], quorum: 1 }],
      ttlMs: 3_600_000,
      policyVersion: 'p1',
      ...overrides,
    },
    T0,
  );
}

/** `count` distinct members of `security`, for quorum and race tests. */
export function securityMembers(count: number) {
  return Array.from({ length: count }, (_, i) => ({ id: `sec-${i}`, groups: ['security'] }));
}

/** The GatehouseError a promise rejects with; fails when it resolves or rejects with anything else. */
export async function refusal(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
