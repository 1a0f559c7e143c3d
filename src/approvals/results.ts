import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DECIDE_AT, pageSentence, urlOf, type PageLink } from './pageLink.js';
import type { QuarantinedRecord } from './quarantine.js';
import type { ApprovalRequest } from './request.js';

/** The `_meta` key under which Gatehouse puts an approval's machine-readable state. */
export const APPROVAL_META = 'gatehouse/approval';

export interface ApprovalStatus {
  status: ApprovalRequest['state'];
  approvalId: string;
  expiresAt: string;
  approvers: string[];
  quorum: number;
  approvals: number;
  /** The request's page, where approvers decide and anyone allowed can follow it; absent without one. */
  url?: string;
}

/** What a requester is told besides the request itself: how long retries get the outcome, where the page is. */
export interface FollowUp {
  /** How long identical retries keep getting a finished request's outcome (`approvals.resultRetentionMs`). */
  retentionMs?: number;
  pageLink?: (id: string) => PageLink;
}

export function approvalStatus(request: ApprovalRequest, link?: PageLink): ApprovalStatus {
  const url = urlOf(link);
  return {
    status: request.state,
    approvalId: request.id,
    expiresAt: request.expiresAt,
    approvers: request.approvers,
    quorum: request.quorum,
    approvals: request.decisions.filter((d) => d.decision === 'approve').length,
    ...(url ? { url } : {}),
  };
}

const HOW_TO_FOLLOW = (id: string) =>
  `To get the outcome, retry this exact call later (identical arguments join this request), or call ` +
  `gatehouse__approval_status with {"approvalId": "${id}"}, or gatehouse__wait_for_approval to wait up to 45 seconds. ` +
  `Changing the arguments creates a new request that needs its own approval.`;

/** How to follow a request made because the tool changed: a retry joins it only while the tool stays so. */
const FOLLOW_NEW = (id: string) =>
  `To get the outcome, call gatehouse__approval_status with {"approvalId": "${id}"}, or ` +
  'gatehouse__wait_for_approval to wait up to 45 seconds; retrying this exact call later gets this new ' +
  "request's outcome for as long as the tool stays as it is now. Changing the arguments creates a new " +
  'request that needs its own approval.';

/** Why this is a new request and not the requester's earlier one: the tool changed in between. */
function definitionChanged(request: ApprovalRequest): string {
  const earlier = request.definitionChangedSince!;
  const note: Partial<Record<ApprovalRequest['state'], string>> = {
    pending: '; approving it will not run it',
    approved: '; it will not run against the changed tool',
    failed: '; an approved call whose tool changed is not run',
  };
  return (
    `The tool's definition (description or input schema) changed since your earlier request ${earlier.id} ` +
    `for this call was made (that request is now ${earlier.state}${note[earlier.state] ?? ''}). So this is a ` +
    `NEW approval request (${request.id}) for the tool as it is now, which people must approve again.`
  );
}

/**
 * What the model is told about a gated call, for every state of its request. Until the call has run the
 * text says plainly that it has NOT run. A tool with an outputSchema gets `isError: true` on non-results,
 * since clients validate structuredContent against that schema on success results.
 */
export function resultForRequest(
  request: ApprovalRequest,
  hasOutputSchema: boolean,
  { retentionMs = 0, pageLink }: FollowUp = {},
): CallToolResult {
  const link = pageLink?.(request.id);
  const status = approvalStatus(request, link);
  const page = (lead?: string) => (link ? ` ${pageSentence(link, lead)}.` : '');
  const meta = { [APPROVAL_META]: status };
  const notRun = (text: string, isError: boolean): CallToolResult => ({
    content: [{ type: 'text', text }],
    ...(isError || hasOutputSchema ? { isError: true } : { structuredContent: { ...status } }),
    _meta: meta,
  });
  const who = `${request.approvers.join(', ')} (${request.quorum} approval${request.quorum === 1 ? '' : 's'} needed)`;
  const rule = `rule ${request.rules.join(', ')}: ${request.reason}`;

  switch (request.state) {
    case 'pending':
      return notRun(
        request.definitionChangedSince
          ? `${definitionChanged(request)} It has NOT run yet: it is waiting for human approval (${rule}). ` +
              `Asked: ${who}; ${status.approvals} given so far. It expires at ${request.expiresAt}.${page(DECIDE_AT)} ` +
              FOLLOW_NEW(request.id)
          : `This call has NOT run yet: it is waiting for human approval (approval ${request.id}; ${rule}). ` +
              `Asked: ${who}; ${status.approvals} given so far. It expires at ${request.expiresAt}.${page(DECIDE_AT)} ` +
              HOW_TO_FOLLOW(request.id),
        false,
      );
    case 'approved':
    case 'executing':
      return notRun(
        `This call was approved (approval ${request.id}) and is ${request.state === 'executing' ? 'executing now' : 'about to execute'}; ` +
          `its result is not available yet.${page()} ${HOW_TO_FOLLOW(request.id)}`,
        false,
      );
    case 'executed': {
      const result = request.execution!.result!;
      // As the server sent it (every field kept), with the approval's state added to _meta.
      return { ...result, _meta: { ...result._meta, ...meta } } as CallToolResult;
    }
    case 'failed':
      return notRun(
        `This call was approved (approval ${request.id}) but ${request.execution?.startedAt ? 'failed while executing' : 'was NOT executed'}: ` +
          `${request.execution?.error?.message ?? 'unknown error'}.`,
        true,
      );
    case 'rejected': {
      const rejection = request.decisions.find((d) => d.decision === 'reject');
      return notRun(
        `This call was REJECTED by ${rejection?.approver.id ?? 'an approver'} and did not run (approval ${request.id}): ` +
          `${rejection?.reason ?? 'no reason given'}. Do not retry it unchanged.`,
        true,
      );
    }
    case 'expired':
      return notRun(
        `This call did NOT run: its approval request ${request.id} expired at ${request.expiresAt} (${request.closed?.reason ?? 'expired'}). ` +
          `Ask the user whether to request it again; ${whenAgain(request, retentionMs)}`,
        true,
      );
    case 'cancelled':
      return notRun(
        `This call did NOT run: approval ${request.id} was cancelled (${request.closed?.reason ?? 'cancelled'}). ` +
          whenAgain(request, retentionMs),
        true,
      );
    case 'unknown':
      return notRun(
        `Gatehouse stopped while this approved call (approval ${request.id}) was executing; whether it took effect is unknown ` +
          `and it will not be re-run automatically. Check the target system before asking again.`,
        true,
      );
  }
}

/** When an identical call stops getting this outcome and becomes a new request. */
function whenAgain(request: ApprovalRequest, retentionMs: number): string {
  const ended = Date.parse(request.closed?.at ?? request.execution?.finishedAt ?? request.expiresAt);
  return `the identical call makes a new approval request from ${new Date(ended + retentionMs).toISOString()} on.`;
}

/** What the requester is told about a request whose stored record was set aside (approvals/quarantine.ts). */
export function resultForQuarantined(record: QuarantinedRecord): CallToolResult {
  return {
    content: [
      {
        type: 'text',
        text:
          `This call did NOT run and never will: Gatehouse found the stored record of approval ${record.id} ` +
          `altered or corrupt (${record.problem.code}) and set it aside. Making the call again creates a new ` +
          'approval request.',
      },
    ],
    isError: true,
    _meta: { [APPROVAL_META]: { status: 'quarantined', approvalId: record.id } },
  };
}
