import { QUARANTINE_RECOVERY, type QuarantinedRecord } from '../../quarantine.js';
import { html, type SafeHtml } from '../html.js';
import type { Problem } from '../problems.js';
import { argumentsView, flagBanner } from './arguments.js';
import { stateBadge, table, time } from './format.js';
import { layout, type Viewer } from './layout.js';

/**
 * A record the store could not trust, set aside at start: why, what to do about it, and the record as
 * it was found (shown exactly, like arguments, since anything in it may be an attacker's). It offers
 * no decision: it never runs.
 */
export function quarantinedPage(input: {
  record: QuarantinedRecord;
  viewer: Viewer;
  now: number;
  problem?: Problem;
}): SafeHtml {
  const { record, viewer, now, problem } = input;
  const { view, flags } = argumentsView(record.record);
  return layout({
    title: `Quarantined record ${record.id}`,
    viewer,
    body: html`
      <p class="sub">Approval request <code>${record.id}</code> ${stateBadge('quarantined')}</p>
      <h1>Quarantined: this request never runs</h1>
      ${
        problem &&
        html`<div class="banner error" role="alert" data-testid="error" data-code="${problem.code}">
          <p><strong>Not recorded:</strong> ${problem.message}</p>
        </div>`
      }
      <div class="banner error" data-testid="quarantined">
        <p><strong>${record.problem.code}</strong>: ${record.problem.message}.</p>
        <p>${QUARANTINE_RECOVERY}</p>
      </div>
      ${flagBanner(flags)}
      <div class="card">
        <dl class="facts">
          <dt>Quarantined</dt>
          <dd>${time(record.quarantinedAt, now)}</dd>
        </dl>
      </div>
      <h2>The record as it was found</h2>
      ${view}
    `,
  });
}

/** The inbox's list of quarantined records: they need an operator, so they come first. */
export function quarantinedTable(records: readonly QuarantinedRecord[], now: number): SafeHtml | undefined {
  if (records.length === 0) return undefined;
  return html`<h2>Quarantined: altered or corrupt, never run (${records.length})</h2>
    ${table(
      'quarantined',
      ['Record', 'Problem', 'Since'],
      records.map((r) => [
        html`<a href="/approvals/${encodeURIComponent(r.id)}">${r.id}</a>`,
        r.problem.code,
        time(r.quarantinedAt, now),
      ]),
      '',
    )}`;
}
