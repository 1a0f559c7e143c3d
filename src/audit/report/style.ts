import { createHash } from 'node:crypto';
import { SafeHtml } from '../../approvals/web/html.js';

/** The report's only stylesheet, inline and allowed by its hash in the report's CSP. */
export const REPORT_STYLESHEET = `
:root { color-scheme: light; --fg: #1c1e21; --muted: #5f6368; --line: #d9dce1; --bg: #f6f7f9; --card: #fff;
  --accent: #1a56c4; --ok: #137333; --bad: #b3261e; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 78rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
.sub { color: var(--muted); margin: 0; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; break-inside: avoid; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.25rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .85rem; }
dd .mono { overflow-wrap: anywhere; }
.time { white-space: nowrap; font-size: .8rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
.detail { overflow-wrap: anywhere; }
th { font-size: .75rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
ul.plain { list-style: none; margin: 0; padding: 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
.tile .n { font-size: 1.6rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .what { color: var(--muted); font-size: .85rem; }
.tile.alert { border-color: #f5a49b; background: #fce8e6; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .78rem; font-weight: 600; background: #e8eaed; white-space: nowrap; }
.badge.good { background: #e6f4ea; color: var(--ok); }
.badge.bad { background: #fce8e6; color: var(--bad); }
.badge.warn { background: #fef7e0; color: var(--warn); }
.banner { border-radius: 8px; padding: .75rem 1rem; margin: 0 0 .75rem; border: 1px solid; font-weight: 600; }
.banner.ok { background: #e6f4ea; border-color: #a8dab5; color: var(--ok); }
.banner.bad { background: #fce8e6; border-color: #f5a49b; color: var(--bad); }
.empty { color: var(--muted); font-style: italic; margin: .25rem 0; }
svg.histogram { max-width: 100%; height: auto; }
svg.histogram rect { fill: #8ab4f8; }
svg.histogram .marked rect { fill: var(--accent); }
svg.histogram text { font: 12px system-ui, sans-serif; fill: var(--fg); }
svg.histogram text.mark { fill: var(--accent); font-weight: 600; }
svg.histogram line.axis { stroke: var(--line); stroke-width: 1; }
footer { color: var(--muted); font-size: .85rem; margin: 1.5rem 0; }
@media print { body { background: #fff; } section { border-color: #bbb; } }
`;

export const REPORT_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(REPORT_STYLESHEET, 'utf8').digest('base64')}'`,
  "img-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join('; ');

/** Built outside the `html` tag, whose template prettier reflows: the hash covers these exact bytes. */
export const REPORT_STYLE_ELEMENT = new SafeHtml(`<style>${REPORT_STYLESHEET}</style>`);
