import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import { resultText } from './compare.js';

/** Assertions on what a policy decision did to a tool call, as the client sees it. */

/**
 * Refused by a deny: a tool error naming the rule (or the default) and the reason, saying the call did
 * not run, with the rule in `_meta`. Returns the `_meta` entry for further checks.
 */
export function expectDenied(result: CallToolResult, rule: string | undefined, reason?: string) {
  expect(result.isError).toBe(true);
  const text = resultText(result);
  expect(text).toContain(rule === undefined ? 'the default policy' : `rule ${rule}`);
  if (reason !== undefined) expect(text).toContain(reason);
  expect(text).toContain('not executed');
  const meta = result._meta?.['gatehouse/error'];
  expect(meta).toMatchObject({ effect: 'deny', rules: rule === undefined ? [] : [rule] });
  return meta as { effect: 'deny'; rules: string[]; policyVersion: string };
}

/**
 * Gated by an approve rule: the call is held as a pending approval request and did not run; the text
 * says so and names the rule, and `_meta` carries who may approve. Returns that `_meta` entry.
 */
export function expectHeldForApproval(
  result: CallToolResult,
  rule: string,
  expected: { reason?: string; approvers?: string[]; quorum?: number } = {},
) {
  const text = resultText(result);
  expect(text).toMatch(/NOT run/);
  expect(text).toContain('human approval');
  expect(text).toContain(`rule ${rule}`);
  if (expected.reason !== undefined) expect(text).toContain(expected.reason);
  const meta = result._meta?.['gatehouse/approval'];
  expect(meta).toMatchObject({
    status: 'pending',
    ...(expected.approvers ? { approvers: expected.approvers } : {}),
    ...(expected.quorum !== undefined ? { quorum: expected.quorum } : {}),
  });
  return meta as { status: 'pending'; approvalId: string; approvers: string[]; quorum: number };
}
