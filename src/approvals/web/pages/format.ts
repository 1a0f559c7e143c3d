import type { ApprovalRequest } from '../../request.js';
import { html, type HtmlValue, type SafeHtml } from '../html.js';

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

/** `user:alice` and `group:security` as a person reads them. */
export function approverEntry(entry: string): string {
  if (entry.startsWith('group:')) return `group ${entry.slice('group:'.length)}`;
  return entry.startsWith('user:') ? entry.slice('user:'.length) : entry;
}

/** A table of rows, or the `empty` sentence when there are none. Cells are escaped like any value. */
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
        ${row.map((cell) => html`<td>${cell}</td>`)}
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
  return html`<a href="/approvals/${encodeURIComponent(request.id)}">${request.server} / ${request.tool}</a>`;
}
