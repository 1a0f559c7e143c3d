import { summarize, type ApprovalSummary, type OutcomeKind } from '../../src/approvals/channels/summary.js';
import { createRedactor } from '../../src/redact/index.js';
import type { ApprovalRequest } from '../../src/approvals/request.js';

/**
 * A summary whose every field of untrusted text (from the model, the arguments, a server or a person)
 * is `hostile`, for tests that channels show such text only where it is shown literally.
 */
export function hostileSummary(hostile: string, overrides: Partial<ApprovalSummary> = {}): ApprovalSummary {
  return sampleSummary({
    exposedName: hostile,
    server: hostile,
    tool: hostile,
    toolDescription: hostile,
    reason: hostile,
    rules: [hostile],
    requester: { id: hostile, groups: [] },
    approvers: [hostile],
    approvals: [{ id: hostile, at: '2026-11-30T16:02:00.000Z', channel: hostile }],
    rejection: { by: hostile, at: '2026-11-30T16:03:00.000Z', reason: hostile },
    outcome: { kind: 'rejected', text: hostile },
    state: 'rejected',
    arguments: { value: { hostile }, display: hostile, redacted: [hostile], cut: false },
    ...overrides,
  });
}

/**
 * A summary as `summarize` makes one, for card tests: alice's write_file call that one member of
 * `security` must approve. Strings are taken as given (the summary's own escaping has tests of its
 * own): cards must show whatever they get literally.
 */
export function sampleSummary(overrides: Partial<ApprovalSummary> = {}): ApprovalSummary {
  const value = overrides.arguments?.value ?? { path: '/tmp/report.txt', content: 'quarterly numbers' };
  return {
    id: '7d0c7c52-2f4b-4c53-9d69-2a0e0d1b7a11',
    url: 'https://gatehouse.example.com/approvals/7d0c7c52-2f4b-4c53-9d69-2a0e0d1b7a11',
    server: 'fs',
    tool: 'write_file',
    exposedName: 'fs__write_file',
    toolDescription: 'Create a new file or overwrite an existing file with new content.',
    rules: ['fs-writes'],
    reason: 'writing files needs a second pair of eyes',
    requester: { id: 'alice', groups: ['dev'] },
    createdAt: '2026-11-30T16:00:00.000Z',
    expiresAt: '2026-11-30T17:00:00.000Z',
    digest: `sha256:${'ab'.repeat(32)}`,
    state: 'pending',
    approvers: ['group:security'],
    quorum: 1,
    decisions: [],
    approvals: [],
    arguments: {
      value,
      display: JSON.stringify(value, null, 2),
      redacted: [],
      cut: false,
    },
    argumentsLine: Object.entries(value)
      .map(([key, inner]) => `${key}=${JSON.stringify(inner)}`)
      .join(', '),
    flagged: false,
    ...overrides,
  };
}

/** The summary of a request whose arguments are `value`. */
export function summaryWithArguments(value: ApprovalSummary['arguments']['value']): ApprovalSummary {
  return sampleSummary({
    arguments: { value, display: JSON.stringify(value, null, 2), redacted: [], cut: false },
  });
}

/** The summary the outbox hands the channels: `summarize` itself, with a redactor of the built-in rules. */
export function summaryOf(request: ApprovalRequest, baseUrl: string): ApprovalSummary {
  return summarize(request, { baseUrl, redactor: createRedactor({ names: [], paths: [], detect: true }) });
}

/** What a summary of a request that ended each way shows besides its outcome. */
const OUTCOMES: Record<OutcomeKind, Partial<ApprovalSummary>> = {
  executed: { state: 'executed' },
  'executed-with-tool-error': { state: 'executed' },
  failed: { state: 'failed' },
  rejected: {
    state: 'rejected',
    rejection: { by: 'bob', at: '2026-11-30T16:05:00.000Z', reason: 'not this file' },
  },
  expired: { state: 'expired' },
  cancelled: { state: 'cancelled' },
  unknown: { state: 'unknown' },
};

export const OUTCOME_KINDS = Object.keys(OUTCOMES) as OutcomeKind[];

/** The sample request's summary once it ended as `kind`. */
export function finishedSummary(kind: OutcomeKind): ApprovalSummary {
  return sampleSummary({ ...OUTCOMES[kind], outcome: { kind, text: `the outcome: ${kind}` } });
}
