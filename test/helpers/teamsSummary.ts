import type { ApprovalSummary, OutcomeKind } from '../../src/approvals/channels/summary.js';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import { asOf, isTerminal } from '../../src/approvals/states.js';

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

/**
 * A stand-in for the channels helper's `summarize` until it lands in this branch: the request's fields
 * as a summary, unredacted and uncut, the outcome in a few words. Channel tests only need its shape.
 */
export function summaryOf(request: ApprovalRequest, baseUrl: string): ApprovalSummary {
  const current = asOf(request, new Date());
  const rejection = current.decisions.find((d) => d.decision === 'reject');
  const value = current.arguments as ApprovalSummary['arguments']['value'];
  return sampleSummary({
    id: current.id,
    url: `${baseUrl}/approvals/${encodeURIComponent(current.id)}`,
    server: current.server,
    tool: current.tool,
    exposedName: current.exposedName,
    rules: current.rules,
    reason: current.reason,
    requester: { id: current.caller.id, groups: current.caller.groups },
    createdAt: current.createdAt,
    expiresAt: current.expiresAt,
    digest: current.digest,
    state: current.state,
    approvers: current.approvers,
    quorum: current.quorum,
    approvals: current.decisions
      .filter((d) => d.decision === 'approve')
      .map((d) => ({ id: d.approver.id, at: d.at, ...(d.channel ? { channel: d.channel } : {}) })),
    ...(rejection
      ? {
          rejection: {
            by: rejection.approver.id,
            at: rejection.at,
            ...(rejection.reason ? { reason: rejection.reason } : {}),
          },
        }
      : {}),
    ...(isTerminal(current.state)
      ? {
          outcome: {
            kind:
              current.state === 'executed' && current.execution?.result?.isError
                ? 'executed-with-tool-error'
                : (current.state as OutcomeKind),
            text: current.closed?.reason ?? current.state,
          },
        }
      : {}),
    arguments: { value, display: JSON.stringify(value, null, 2), redacted: [], cut: false },
  });
}
