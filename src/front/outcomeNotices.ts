import type { LoggingLevel, LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { cut, outcomeOf, type OutcomeKind } from '../approvals/outcome.js';
import { urlOf } from '../approvals/pageLink.js';
import type { ApprovalRequest } from '../approvals/request.js';
import type { ApprovalRuntime } from '../approvals/service.js';
import { isOpen } from '../approvals/states.js';
import { STATUS_TOOL } from '../approvals/tools.js';
import type { Logger } from '../log.js';
import { passesLevel } from './relay.js';
import type { Session, SessionRegistry } from './sessions.js';

/**
 * The requester hears how their approval request went, where a session of theirs is open: an MCP log
 * message (`notifications/message`, logger `gatehouse`) when it is approved, rejected, executed, fails,
 * expires or is cancelled. It goes to the sessions whose calls made or joined the request; when none of
 * them is open any more (closed, or a restart forgot them), to every open session of the same caller,
 * and never to anyone else. Each session's logging/setLevel threshold holds. Best-effort: a client that
 * is gone, or an HTTP session without a GET stream, misses it and still gets the outcome by asking.
 */
export const NOTICE_LOGGER = 'gatehouse';

export interface OutcomeNoticeDeps {
  approvals: Pick<ApprovalRuntime, 'onChange' | 'pageLink'>;
  sessions: SessionRegistry;
  /** Texts from outside (tool errors, reasons) as a log shows them: redacted (audit.redact). */
  redactText: (text: string) => string;
  logger: Logger;
}

/** What the notice quotes of a tool's error or a reason; the result and the page have all of it. */
const MAX_QUOTE = 300;

/** States changed into that are worth a message, and how loud it is. */
const LEVELS: Partial<Record<ApprovalRequest['state'], LoggingLevel>> = {
  approved: 'info',
  executed: 'info',
  rejected: 'warning',
  failed: 'warning',
  expired: 'warning',
  cancelled: 'warning',
  unknown: 'warning',
};

/** How many requests' last told state is remembered, so a change announced twice is told once. */
const REMEMBERED = 1_000;

export function startOutcomeNotices(deps: OutcomeNoticeDeps): () => void {
  const log = deps.logger.child({ module: 'outcome-notices' });
  const told = new Map<string, ApprovalRequest['state']>();

  return deps.approvals.onChange((request) => {
    const notice = noticeFor(request, deps);
    if (!notice || told.get(request.id) === request.state) return;
    told.delete(request.id);
    told.set(request.id, request.state);
    if (told.size > REMEMBERED) told.delete(told.keys().next().value!);

    for (const session of recipients(deps.sessions, request)) {
      if (!passesLevel(notice.params.level, session.logLevel)) continue;
      void session.server.notification(notice).catch((error: unknown) => {
        log.debug({ session: session.id, approvalId: request.id, reason: String(error) }, 'notice not sent');
      });
    }
    if (!isOpen(request.state)) {
      for (const session of deps.sessions.all()) session.askedFor.delete(request.id);
    }
  });
}

/** The sessions that asked, while any is open; else every open session of the requester. */
export function recipients(sessions: SessionRegistry, request: ApprovalRequest): Session[] {
  const open = sessions.all();
  const asked = open.filter((s) => s.askedFor.has(request.id));
  return asked.length > 0 ? asked : open.filter((s) => s.caller.id === request.caller.id);
}

/** The message for a change of `request`, or undefined when the change is not worth one. */
export function noticeFor(
  request: ApprovalRequest,
  deps: Pick<OutcomeNoticeDeps, 'approvals' | 'redactText'>,
): LoggingMessageNotification | undefined {
  const level = LEVELS[request.state];
  if (!level) return undefined;
  const outcome = outcomeOf(request, deps.redactText);
  const url = urlOf(deps.approvals.pageLink?.(request.id));
  const subject = `The call to ${request.exposedName} (approval ${request.id})`;
  const message =
    request.state === 'approved'
      ? `${subject} was approved by ${approvers(request)} and runs now.`
      : `${subject}: ${outcome!.text}${outcome!.detail ? `: ${cut(outcome!.detail, MAX_QUOTE)}` : ''}. ${AFTERWARDS[outcome!.kind](request.id)}`.trimEnd();
  const isToolError = outcome?.kind === 'executed-with-tool-error';
  return {
    method: 'notifications/message',
    params: {
      level: isToolError ? 'warning' : level,
      logger: NOTICE_LOGGER,
      data: {
        message,
        approvalId: request.id,
        tool: request.exposedName,
        status: request.state,
        ...(outcome ? { outcome: outcome.kind } : {}),
        ...(url ? { url } : {}),
      },
    },
  };
}

const approvers = (request: ApprovalRequest) =>
  request.decisions
    .filter((d) => d.decision === 'approve')
    .map((d) => d.approver.id)
    .join(', ');

const GET_RESULT = (id: string) =>
  `Its result: call ${STATUS_TOOL} with {"approvalId": "${id}"}, or repeat the identical call.`;

/** What the requester can do next, by outcome. */
const AFTERWARDS: Readonly<Record<OutcomeKind, (id: string) => string>> = {
  executed: GET_RESULT,
  'executed-with-tool-error': GET_RESULT,
  failed: () => '',
  rejected: () => 'It did not run; do not retry it unchanged.',
  expired: () => 'It did not run; ask the user whether to request it again.',
  cancelled: () => 'It did not run.',
  unknown: () => 'Check the target system before asking again.',
};
