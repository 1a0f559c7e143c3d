import type { QuarantinedRecord } from '../../quarantine.js';
import type { ApprovalRequest } from '../../request.js';
import { html, type SafeHtml } from '../html.js';
import { requestLink, stateBadge, table, time } from './format.js';
import { layout, type Viewer } from './layout.js';
import { quarantinedTable } from './quarantined.js';

export interface InboxEntry {
  request: ApprovalRequest;
  /** Why the viewer cannot decide; absent when they can. */
  blocker?: string;
}

export interface InboxInput {
  viewer: Viewer;
  pending: readonly InboxEntry[];
  recent: readonly ApprovalRequest[];
  quarantined?: readonly QuarantinedRecord[];
  now: number;
}

export function inboxPage({ viewer, pending, recent, quarantined = [], now }: InboxInput): SafeHtml {
  const you = (request: ApprovalRequest, blocker: string | undefined) =>
    blocker === undefined
      ? html`<strong>your decision is needed</strong>`
      : html`<span class="muted" title="${blocker}">${shortBlocker(request, viewer, blocker)}</span>`;
  return layout({
    title: 'Approval requests',
    viewer,
    body: html`<h1>Approval requests</h1>
      ${quarantinedTable(quarantined, now)}
      <h2>Waiting for a decision (${pending.length})</h2>
      ${table(
        'pending',
        ['Tool', 'Requested by', 'Rule', 'Created', 'Expires', 'You'],
        pending.map(({ request, blocker }) => [
          requestLink(request),
          request.caller.id,
          request.rules.join(', '),
          time(request.createdAt, now),
          time(request.expiresAt, now),
          you(request, blocker),
        ]),
        'Nothing is waiting.',
      )}
      <h2>Recent</h2>
      ${table(
        'recent',
        ['Tool', 'Requested by', 'State', 'Created'],
        recent.map((request) => [
          requestLink(request),
          request.caller.id,
          stateBadge(request.state),
          time(request.createdAt, now),
        ]),
        'No decided or closed requests yet.',
      )}`,
  });
}

function shortBlocker(request: ApprovalRequest, viewer: Viewer, blocker: string): string {
  if (request.caller.id === viewer.principal.id) return 'you requested it';
  if (request.decisions.some((d) => d.approver.id === viewer.principal.id)) return 'you decided';
  return blocker.includes('not an approver') ? 'not yours to decide' : 'cannot decide';
}
