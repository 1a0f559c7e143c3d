import type { Redactor } from '../../../redact/index.js';
import { argumentsLine } from '../../argumentsLine.js';
import { cut, outcomeOf, type Outcome } from '../../outcome.js';
import type { QuarantinedRecord } from '../../quarantine.js';
import type { ApprovalRequest } from '../../request.js';
import { html, type SafeHtml } from '../html.js';
import { flaggedText } from './arguments.js';
import { outcomeBadge, requestLink, table, time } from './format.js';
import { layout, type Viewer } from './layout.js';
import { quarantinedTable } from './quarantined.js';

/**
 * A request as a list shows it: redacted as the API's list is (audit.redact), since lists are
 * overviews that get copied into tickets and chats; the request's own page shows it exactly.
 */
export interface ListedRequest {
  request: ApprovalRequest;
  /** Tells two requests for one tool apart: `path: "/tmp/a.txt", content: "…"`. */
  argumentsLine: string;
  /** How it ended, its texts redacted; absent while it is open. */
  outcome?: Outcome;
}

export function listedRequest(request: ApprovalRequest, redactor: Redactor): ListedRequest {
  const text = (value: string) => redactor.redactText(value);
  const outcome = outcomeOf(request, text);
  return {
    request,
    argumentsLine: argumentsLine(redactor.redactArguments(request.arguments).value),
    ...(outcome ? { outcome } : {}),
  };
}

export interface InboxEntry extends ListedRequest {
  /** Why the viewer cannot decide; absent when they can. */
  blocker?: string;
}

export interface InboxInput {
  viewer: Viewer;
  pending: readonly InboxEntry[];
  recent: readonly ListedRequest[];
  quarantined?: readonly QuarantinedRecord[];
  now: number;
}

/** Without script, the inbox reloads itself this often: new requests appear, decided ones move on. */
export const INBOX_REFRESH_SECONDS = 15;

/** How much of a tool's error (or a reason) a row quotes; the request's page shows it all. */
const ROW_DETAIL = 160;

export function inboxPage({ viewer, pending, recent, quarantined = [], now }: InboxInput): SafeHtml {
  const you = (request: ApprovalRequest, blocker: string | undefined) =>
    blocker === undefined
      ? html`<strong>your decision is needed</strong>`
      : html`<span class="muted" title="${blocker}">${shortBlocker(request, viewer, blocker)}</span>`;
  return layout({
    title: 'Approval requests',
    viewer,
    refreshSeconds: INBOX_REFRESH_SECONDS,
    body: html`<h1>Approval requests</h1>
      ${quarantinedTable(quarantined, now)}
      <h2>Waiting for a decision (${pending.length})</h2>
      ${table(
        'pending',
        ['Tool', 'Requested by', 'Rule', 'Created', 'Expires', 'You'],
        pending.map((entry) => [
          toolCell(entry),
          entry.request.caller.id,
          entry.request.rules.join(', '),
          time(entry.request.createdAt, now),
          time(entry.request.expiresAt, now),
          you(entry.request, entry.blocker),
        ]),
        'Nothing is waiting.',
      )}
      <h2>Recent</h2>
      ${requestsTable('recent', recent, now, 'No decided or closed requests yet.')}
      <p><a href="${HISTORY_PATH}">Every request, the latest first</a></p>
      <p class="muted">This page refreshes itself every ${INBOX_REFRESH_SECONDS} seconds.</p>`,
  });
}

/** Where every request is listed, a page at a time. */
export const HISTORY_PATH = '/approvals/history';

export interface HistoryInput {
  viewer: Viewer;
  entries: readonly ListedRequest[];
  /** The cursor of the page after this one, when more may follow. */
  next?: string;
  /** Whether this is a later page (then it links back to the first). */
  later: boolean;
  now: number;
}

/**
 * Every request the store keeps, the latest created first, a page at a time: where an approver or an
 * auditor finds last week's request, which the inbox's recent list has long let go.
 */
export function historyPage({ viewer, entries, next, later, now }: HistoryInput): SafeHtml {
  const older =
    next && html`<a href="${HISTORY_PATH}?cursor=${encodeURIComponent(next)}" rel="next">Older requests</a>`;
  const newest = later && html`<a href="${HISTORY_PATH}">The latest requests</a>`;
  return layout({
    title: 'Every approval request',
    viewer,
    body: html`<h1>Every approval request</h1>
      <p><a href="/approvals">Back to the requests waiting for a decision</a></p>
      ${requestsTable('history', entries, now, later ? 'No older requests.' : 'No requests yet.')}
      <p data-testid="history-pages">${newest} ${older}</p>
      <p class="muted">
        The latest created first. Finished requests stay here until they are archived
        (approvals.archiveAfterMs).
      </p>`,
  });
}

/** Requests as rows: the tool and its arguments line, who asked, the state, when. */
function requestsTable(
  testId: string,
  entries: readonly ListedRequest[],
  now: number,
  empty: string,
): SafeHtml {
  return table(
    testId,
    ['Tool', 'Requested by', 'State', 'Created'],
    entries.map((entry) => [
      toolCell(entry),
      entry.request.caller.id,
      stateCell(entry),
      time(entry.request.createdAt, now),
    ]),
    empty,
  );
}

/** The tool, and under it the arguments in one line, deceptive characters flagged. */
function toolCell({ request, argumentsLine: line }: ListedRequest): SafeHtml {
  return html`${requestLink(request)}
    <code class="argline" data-testid="arguments-line">${flaggedText(line).body}</code>`;
}

/** The state, and for a call that ended badly, what it said (cut; the page has all of it). */
function stateCell({ request, outcome }: ListedRequest): SafeHtml {
  const said = outcome?.kind === 'executed' ? undefined : outcome?.detail;
  return html`${outcomeBadge(request, outcome)}
  ${said && html`<span class="said" data-testid="outcome-detail">${flaggedText(cut(said, ROW_DETAIL)).body}</span>`}`;
}

function shortBlocker(request: ApprovalRequest, viewer: Viewer, blocker: string): string {
  if (request.caller.id === viewer.principal.id) return 'you requested it';
  if (request.decisions.some((d) => d.approver.id === viewer.principal.id)) return 'you decided';
  return blocker.includes('not an approver') ? 'not yours to decide' : 'cannot decide';
}
