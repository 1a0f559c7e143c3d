import type { ApprovalRequest, ApprovalState, Execution } from './request.js';

/**
 * How a finished request ended, in one word and one sentence, for every place that shows it (the page,
 * the API, the CLI, the requester's notice). `executed` alone would hide a tool that ran and answered
 * with an error (an isError result): the call happened, but it did not do what was asked.
 */
export type OutcomeKind =
  Exclude<ApprovalState, 'pending' | 'approved' | 'executing'> | 'executed-with-tool-error';

export interface Outcome {
  kind: OutcomeKind;
  /** What happened, in Gatehouse's words: `executed, the tool reported an error`. */
  text: string;
  /**
   * Untrusted text that says more, as received: the tool's error, why the call failed, the approver's
   * reason for rejecting, why the request closed. Cut after MAX_DETAIL characters.
   */
  detail?: string;
}

export const TOOL_ERROR_TEXT = 'executed, the tool reported an error';

/** Long tool errors are cut: the request's page and the API's single view carry the whole result. */
export const MAX_DETAIL = 2000;

/**
 * The outcome of `request`, or undefined while it is open. `show` maps every untrusted text before it
 * is cut (list views pass the redactor, so a secret is never half-cut into view).
 */
export function outcomeOf(
  request: ApprovalRequest,
  show: (text: string) => string = (text) => text,
): Outcome | undefined {
  const detail = (text: string | undefined) =>
    text === undefined || text === '' ? {} : { detail: cut(show(text), MAX_DETAIL) };
  const closed = detail(request.closed?.reason);
  switch (request.state) {
    case 'pending':
    case 'approved':
    case 'executing':
      return undefined;
    case 'executed': {
      const result = request.execution?.result;
      return result?.isError
        ? { kind: 'executed-with-tool-error', text: TOOL_ERROR_TEXT, ...detail(toolErrorText(result)) }
        : { kind: 'executed', text: 'executed' };
    }
    case 'failed':
      return {
        kind: 'failed',
        text: request.execution?.startedAt ? 'failed while executing' : 'approved, but not executed',
        ...detail(request.execution?.error?.message ?? 'unknown error'),
      };
    case 'rejected': {
      const rejection = request.decisions.find((d) => d.decision === 'reject');
      return {
        kind: 'rejected',
        text: `rejected by ${rejection?.approver.id ?? 'an approver'}`,
        ...detail(rejection?.reason),
      };
    }
    case 'expired':
      return { kind: 'expired', text: 'expired', ...closed };
    case 'cancelled':
      return { kind: 'cancelled', text: 'cancelled', ...closed };
    case 'unknown':
      return { kind: 'unknown', text: 'unknown whether it ran', ...closed };
  }
}

/** What an isError result says: its text blocks, or a note that it sent none. */
export function toolErrorText(result: NonNullable<Execution['result']>): string {
  const texts = (result.content ?? []).flatMap((block) =>
    block.type === 'text' && typeof block.text === 'string' ? [block.text] : [],
  );
  return texts.length > 0 ? texts.join('\n') : '(the tool sent no error text)';
}

/**
 * Where a text was cut. ASCII: an ellipsis character is a lookalike of `...`, which the page would
 * rightly flag in text it shows.
 */
export const CUT = '[...]';

/** At most `max` code points of `text` (a surrogate pair is never split), then CUT if it was longer. */
export function cut(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max).join('')}${CUT}`;
}
