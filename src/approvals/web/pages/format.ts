import { html, type SafeHtml } from '../html.js';

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
