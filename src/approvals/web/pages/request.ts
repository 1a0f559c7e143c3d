import { outcomeOf, TOOL_ERROR_TEXT } from '../../outcome.js';
import type { ApprovalRequest, ToolDefinition } from '../../request.js';
import { tally } from '../../states.js';
import { html, type SafeHtml } from '../html.js';
import type { Problem } from '../problems.js';
import type { DeliveryRecord } from '../../channels/delivery.js';
import { argumentsView, flagBanner } from './arguments.js';
import { deliveriesSection } from './deliveries.js';
import { definitionChanges, definitionSection } from './definition.js';
import { approverEntry, outcomeBadge, outcomeDetail, table, time } from './format.js';
import { csrfField, layout, type Viewer } from './layout.js';

export interface RequestPageInput {
  request: ApprovalRequest;
  viewer: Viewer;
  now: number;
  /** Why the viewer cannot decide now (the state machine's own words); absent when they can. */
  blocker?: string;
  /** A decision just refused, shown above everything. */
  problem?: Problem;
  /** The reason the viewer typed, kept when their decision was refused. */
  reasonDraft?: string;
  /** The tool as its server lists it now, when Gatehouse knows it: what changed is shown. */
  currentDefinition?: ToolDefinition;
  /** How the request's deliveries to channels stand. */
  deliveries?: readonly DeliveryRecord[];
}

export function requestPage(input: RequestPageInput): SafeHtml {
  const { request, viewer, now, blocker, problem } = input;
  const { view, flags } = argumentsView(request.arguments);
  return layout({
    title: `${request.server} / ${request.tool}`,
    viewer,
    body: html`
      <p class="sub">
        Approval request <code>${request.id}</code> ${outcomeBadge(request, outcomeOf(request))}
      </p>
      <h1>${request.server} / ${request.tool}</h1>
      ${
        problem &&
        html`<div class="banner error" role="alert" data-testid="error" data-code="${problem.code}">
          <p><strong>Not recorded:</strong> ${problem.message}</p>
        </div>`
      }
      ${statusBanner(request, viewer, blocker)} ${definitionChanges(request, input.currentDefinition)}
      ${flagBanner(flags)}
      <div class="card">
        <dl class="facts">
          <dt>Server</dt>
          <dd>${request.server}</dd>
          <dt>Tool</dt>
          <dd>
            <code>${request.tool}</code>
            <span class="muted">(exposed to the client as <code>${request.exposedName}</code>)</span>
          </dd>
          <dt>Requested by</dt>
          <dd data-testid="caller">
            <strong>${request.caller.id}</strong
            >${request.caller.groups.length > 0 && html` <span class="muted">(${request.caller.groups.join(', ')})</span>`}
          </dd>
          <dt>Rule${request.rules.length > 1 && 's'}</dt>
          <dd data-testid="rules">
            ${request.rules.map((rule, i) => html`${i > 0 && ', '}<code>${rule}</code>`)}
          </dd>
          <dt>Reason</dt>
          <dd data-testid="reason">${request.reason}</dd>
          <dt>Created</dt>
          <dd>${time(request.createdAt, now)}</dd>
          <dt>Expires</dt>
          <dd data-testid="expires">${time(request.expiresAt, now)}</dd>
          <dt>Policy version</dt>
          <dd><code>${request.policyVersion}</code></dd>
          <dt>Digest</dt>
          <dd><code data-testid="digest">${request.digest}</code></dd>
          <dt>Tool definition</dt>
          <dd><code>${request.toolDefinitionDigest}</code></dd>
        </dl>
      </div>

      <h2>Arguments</h2>
      ${view} ${definitionSection(request)}

      <h2>Approvals needed</h2>
      ${requirementsTable(request)}

      <h2>Decisions</h2>
      ${historyTable(request, now)} ${outcome(request, now)}
      ${request.state === 'pending' && !blocker && decisionForms(request, viewer, input.reasonDraft)}
      ${input.deliveries && deliveriesSection(input.deliveries, now)}
    `,
  });
}

function statusBanner(
  request: ApprovalRequest,
  viewer: Viewer,
  blocker: string | undefined,
): SafeHtml | undefined {
  // A rejection closes the request, so a decision of the viewer's on a pending one is an approval.
  if (request.state === 'pending' && request.decisions.some((d) => d.approver.id === viewer.principal.id)) {
    return html`<div class="banner ok" data-testid="blocker">
      <p>You approved this request; it still waits for other approvers (see below).</p>
    </div>`;
  }
  const outcome = outcomeOf(request);
  if (outcome?.kind === 'executed-with-tool-error') {
    return html`<div class="banner error" data-testid="status">
      <p>This request was <strong>${TOOL_ERROR_TEXT}</strong>:</p>
      ${outcomeDetail(outcome, 'tool-error')}
    </div>`;
  }
  if (request.state !== 'pending') {
    return html`<div class="banner info" data-testid="status">
      <p>
        This request is
        <strong>${request.state}</strong>${request.closed && html`: ${request.closed.reason}`}. It takes no
        more decisions.
      </p>
    </div>`;
  }
  if (blocker) {
    return html`<div class="banner info" data-testid="blocker">
      <p><strong>You cannot decide on this request.</strong> ${blocker}</p>
    </div>`;
  }
  return undefined;
}

function requirementsTable(request: ApprovalRequest): SafeHtml {
  return table(
    'requirements',
    ['Rule', 'Who may approve', 'Needed', 'Approved by', 'Met'],
    tally(request).map((t, i) => [
      html`<code>${t.rule}</code>`,
      request.requirements[i]!.approvers.map(approverEntry).join(', '),
      `${t.approvedBy.length} of ${t.quorum}`,
      t.approvedBy.join(', ') || html`<span class="muted">nobody yet</span>`,
      t.met ? 'yes' : 'no',
    ]),
    '',
  );
}

function historyTable(request: ApprovalRequest, now: number): SafeHtml {
  return table(
    'history',
    ['Approver', 'Decision', 'Reason', 'When', 'Via'],
    request.decisions.map((d) => [
      d.approver.id,
      d.decision === 'approve' ? 'approved' : 'rejected',
      d.reason ?? html`<span class="muted">none</span>`,
      time(d.at, now),
      d.channel ?? '',
    ]),
    'No decisions yet.',
  );
}

function outcome(request: ApprovalRequest, now: number): SafeHtml | undefined {
  const execution = request.execution;
  if (!execution) return undefined;
  return html`<h2>Execution</h2>
    <div class="card">
      <dl class="facts">
        ${
          execution.startedAt
            ? html`<dt>Started</dt>
                <dd>${time(execution.startedAt, now)}</dd>`
            : html`<dt>Started</dt>
                <dd>never: it was blocked before running</dd>`
        }
        ${
          execution.finishedAt &&
          html`<dt>Finished</dt>
            <dd>${time(execution.finishedAt, now)}</dd>`
        }
        ${
          execution.result &&
          html`<dt>Result</dt>
            <dd>
              ${execution.result.isError ? 'the tool reported an error' : 'the tool returned a result'}
            </dd>`
        }
        ${
          execution.error &&
          html`<dt>Error</dt>
            <dd><code>${execution.error.code}</code> ${execution.error.message}</dd>`
        }
      </dl>
    </div>`;
}

function decisionForms(request: ApprovalRequest, viewer: Viewer, reasonDraft = ''): SafeHtml {
  const action = `/approvals/${encodeURIComponent(request.id)}/decision`;
  return html`<h2>Your decision</h2>
    <div class="decide">
      <form method="post" action="${action}" data-testid="approve-form">
        ${csrfField(viewer)}<input type="hidden" name="decision" value="approve" />
        <label for="approve-reason">Note <span class="muted">(optional)</span></label>
        <textarea id="approve-reason" name="reason" maxlength="2000"></textarea>
        <p><button type="submit" class="approve">Approve this exact call</button></p>
      </form>
      <form method="post" action="${action}" data-testid="reject-form">
        ${csrfField(viewer)}<input type="hidden" name="decision" value="reject" />
        <label for="reject-reason"
          >Reason for rejecting
          <span class="muted">(required; the requester and the model see it)</span></label
        >
        <textarea id="reject-reason" name="reason" required maxlength="2000">${reasonDraft}</textarea>
        <p><button type="submit" class="reject">Reject</button></p>
      </form>
    </div>`;
}
