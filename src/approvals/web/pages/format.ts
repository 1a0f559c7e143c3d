import type { Outcome } from '../../outcome.js';
import type { ApprovalRequest } from '../../request.js';
import { html, type HtmlValue, type SafeHtml } from '../html.js';
import { flaggedText } from './arguments.js';

/** `2026-01-01 12:00:05 UTC (in 4 min)`: absolute in UTC (the page has no script to localise), plus how far. */
export function time(iso: string, now: number): SafeHtml {
  const at = Date.parse(iso);
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>
    <span class="muted">(${relative(at - now)})</span>`;
}

export function relative(deltaMs: number): string {
  const abs = Math.abs(deltaMs);
  if (abs < 5_000) return 'now';
  const amount =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} days`;
  return deltaMs >= 0 ? `in ${amount}` : `${amount} ago`;
}

export function stateBadge(state: string): SafeHtml {
  return html`<span class="badge ${state}" data-testid="state">${state}</span>`;
}

/** The state, except that a call whose tool reported an error does not read as a plain `executed`. */
export function outcomeBadge(request: ApprovalRequest, outcome: Outcome | undefined): SafeHtml {
  if (outcome?.kind !== 'executed-with-tool-error') return stateBadge(request.state);
  return html`<span class="badge tool-error" data-testid="state" title="${outcome.text}"
    >executed, tool error</span
  >`;
}

/** Untrusted text that says more about an outcome (a tool's error, a reason), every character shown. */
export function outcomeDetail(outcome: Outcome | undefined, testId = 'outcome-detail'): SafeHtml | undefined {
  if (outcome?.detail === undefined) return undefined;
  return html`<pre class="args detail" data-testid="${testId}">${flaggedText(outcome.detail).body}</pre>`;
}

/** `user:alice` and `group:security` as a person reads them. */
export function approverEntry(entry: string): string {
  if (entry.startsWith('group:')) return `group ${entry.slice('group:'.length)}`;
  return entry.startsWith('user:') ? entry.slice('user:'.length) : entry;
}

/**
 * A table of rows, or the `empty` sentence when there are none. Cells are escaped like any value. Each
 * cell carries its column's header, which narrow screens show beside it when rows become cards.
 */
export function table(
  testId: string,
  headers: readonly string[],
  rows: readonly (readonly HtmlValue[])[],
  empty: string,
): SafeHtml {
  if (rows.length === 0) return html`<p class="muted" data-testid="${testId}">${empty}</p>`;
  const head = headers.map((h) => html`<th>${h}</th>`);
  const body = rows.map(
    (row) =>
      html`<tr>
        ${row.map((cell, i) => html`<td data-label="${headers[i] ?? ''}">${cell}</td>`)}
      </tr>`,
  );
  return html`<table data-testid="${testId}">
    <thead>
      <tr>
        ${head}
      </tr>
    </thead>
    <tbody>
      ${body}
    </tbody>
  </table>`;
}

export function requestLink(request: ApprovalRequest): SafeHtml {
  return html`<a class="req" href="/approvals/${encodeURIComponent(request.id)}"
    >${request.server} / ${request.tool}</a
  >`;
}
