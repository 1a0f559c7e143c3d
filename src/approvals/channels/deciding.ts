import type { ErrorCode, GatehouseError } from '../../errors.js';
import type { ApprovalRequest, Identity } from '../request.js';
import { countsToward } from '../states.js';

/**
 * What a channel that takes clicks (Teams, Slack) needs around ApprovalService.decide: whether to offer
 * someone the buttons at all, which refusals are the rules' word (shown to the person, nothing
 * recorded) rather than a failure of Gatehouse's, and how to word them.
 */

/** Whether `viewer` may decide on `request` now: the page's rules, so the buttons match the outcome. */
export function mayDecide(request: ApprovalRequest, viewer: Identity): boolean {
  return (
    request.state === 'pending' &&
    countsToward(request, viewer).length > 0 &&
    !request.decisions.some((d) => d.approver.id === viewer.id)
  );
}

/** Refusals by the rules, shown to the person who clicked; anything else is a failure of Gatehouse's. */
export const DECISION_REFUSALS: ReadonlySet<ErrorCode> = new Set([
  'APPROVER_IS_REQUESTER',
  'APPROVER_NOT_LISTED',
  'APPROVAL_NOT_PENDING',
  'APPROVAL_EXPIRED',
  'APPROVAL_ALREADY_DECIDED',
  'APPROVAL_DECISION_INVALID',
]);

/** Why a decision did not count, addressed to the person who tried it. */
export function refusalText(error: GatehouseError): string {
  switch (error.code) {
    case 'APPROVER_IS_REQUESTER':
      return 'you made this request, so another approver must decide.';
    case 'APPROVER_NOT_LISTED':
      return 'you are not an approver of this request.';
    case 'APPROVAL_ALREADY_DECIDED':
      return 'you have already decided on this request.';
    case 'APPROVAL_NOT_PENDING':
    case 'APPROVAL_EXPIRED':
      return `this request no longer takes decisions (${error.message}).`;
    default:
      return error.message;
  }
}
