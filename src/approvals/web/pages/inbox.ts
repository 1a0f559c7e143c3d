import type { ApprovalRequest } from '../../request.js';
import { html, type SafeHtml } from '../html.js';
import { stateBadge, time } from './format.js';
import { layout, type Viewer } from './layout.js';

export interface InboxEntry {
  request: ApprovalRequest;
  /** Why the viewer cannot decide; absent when they can. */
  blocker?: string;
}

export interface InboxInput {
  viewer: Viewer;
  pending: readonly InboxEntry[];
  recent: readonly ApprovalRequest[];
  now: number;
}

export function inboxPage({ viewer, pending, recent, now }: InboxInput): SafeHtml {
  return layout({
    title: 'Approval requests',
    viewer,
    body: html`<h1>Approval requests</h1>
      <h2>Waiting for a decision (${pending.length})</h2>
      ${
        pending.length === 0
          ? html`<p class="muted" data-testid="pending">Nothing is waiting.</p>`
          : html`<table data-testid="pending">
              <thead>
                <tr>
                  <th>Tool</th>
                  <th>Requested by</th>
                  <th>Rule</th>
                  <th>Created</th>
                  <th>Expires</th>
                  <th>You</th>
                </tr>
              </thead>
              <tbody>
                ${pending.map(
                  ({ request, blocker }) =>
                    html`<tr>
                      <td>
                        <a href="/approvals/${encodeURIComponent(request.id)}"
                          >${request.server} / ${request.tool}</a
                        >
                      </td>
                      <td>${request.caller.id}</td>
                      <td>${request.rules.join(', ')}</td>
                      <td>${time(request.createdAt, now)}</td>
                      <td>${time(request.expiresAt, now)}</td>
                      <td>
                        ${blocker === undefined ? html`<strong>your decision is needed</strong>` : html`<span class="muted" title="${blocker}">${shortBlocker(request, viewer, blocker)}</span>`}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
      <h2>Recent</h2>
      ${
        recent.length === 0
          ? html`<p class="muted" data-testid="recent">No decided or closed requests yet.</p>`
          : html`<table data-testid="recent">
              <thead>
                <tr>
                  <th>Tool</th>
                  <th>Requested by</th>
                  <th>State</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                ${recent.map(
                  (request) =>
                    html`<tr>
                      <td>
                        <a href="/approvals/${encodeURIComponent(request.id)}"
                          >${request.server} / ${request.tool}</a
                        >
                      </td>
                      <td>${request.caller.id}</td>
                      <td>${stateBadge(request.state)}</td>
                      <td>${time(request.createdAt, now)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }`,
  });
}

function shortBlocker(request: ApprovalRequest, viewer: Viewer, blocker: string): string {
  if (request.caller.id === viewer.principal.id) return 'you requested it';
  if (request.decisions.some((d) => d.approver.id === viewer.principal.id)) return 'you decided';
  return blocker.includes('not an approver') ? 'not yours to decide' : 'cannot decide';
}
