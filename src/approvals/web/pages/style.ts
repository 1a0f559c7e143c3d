/** The page's only stylesheet, inline and allowed by its hash in the CSP: no external assets. */
export const STYLESHEET = `
:root { color-scheme: light; --fg: #1c1e21; --muted: #5f6368; --line: #d9dce1; --bg: #f6f7f9; --card: #fff;
  --accent: #1a56c4; --ok: #137333; --bad: #b3261e; --warn-bg: #fff4e5; --warn-line: #f0a14b; --flag: #ffd8a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; align-items: center; gap: 1rem; padding: .6rem 1.5rem; background: #202124; color: #fff; }
header.top a { color: #fff; text-decoration: none; font-weight: 600; }
header.top .who { margin-left: auto; font-size: .9rem; color: #dadce0; display: flex; gap: .75rem; align-items: center; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #dadce0; border: 1px solid #5f6368; padding: .15rem .6rem; font-size: .85rem; }
main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
a { color: var(--accent); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 1rem 0; }
.sub { color: var(--muted); margin: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1.25rem; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .9rem; }
pre.args { background: #fbfbfc; border: 1px solid var(--line); border-radius: 6px; padding: .9rem 1rem; margin: 0;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 40rem; overflow: auto; unicode-bidi: isolate; }
mark.flag { background: var(--flag); color: var(--fg); border-radius: 3px; padding: 0 2px; outline: 1px solid var(--warn-line); }
mark.flag .cp { font-size: .7rem; font-weight: 700; margin-left: 1px; }
mark.flag.hidden { background: #ffc9c9; outline-color: var(--bad); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: anywhere; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); font-weight: 600; overflow-wrap: normal; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; background: #e8eaed; }
.badge.pending { background: #fef7e0; color: #8a5a00; }
.badge.approved, .badge.executing, .badge.executed { background: #e6f4ea; color: var(--ok); }
.badge.rejected, .badge.failed, .badge.unknown, .badge.quarantined, .badge.tool-error { background: #fce8e6; color: var(--bad); }
code.argline { display: block; margin-top: .15rem; color: var(--muted); font-size: .8rem; overflow-wrap: anywhere; unicode-bidi: isolate; }
.said { display: block; margin-top: .25rem; font-size: .85rem; overflow-wrap: anywhere; unicode-bidi: isolate; }
pre.args.detail { max-height: 20rem; margin-top: .5rem; }
a.req { display: inline-block; padding: .15rem 0; }
.banner { border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; border: 1px solid; }
.banner.warn { background: var(--warn-bg); border-color: var(--warn-line); }
.banner.error { background: #fce8e6; border-color: #f5a49b; }
.banner.info { background: #e8f0fe; border-color: #aecbfa; }
.banner.ok { background: #e6f4ea; border-color: #a8dab5; }
.banner p { margin: .25rem 0; }
.banner ul { margin: .4rem 0 0; padding-left: 1.25rem; }
.decide { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.decide form { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 0; }
label { display: block; font-weight: 600; margin-bottom: .3rem; }
input[type=text], input[type=password], textarea { width: 100%; padding: .5rem; border: 1px solid #bdc1c6; border-radius: 6px; font: inherit; }
textarea { min-height: 4.5rem; resize: vertical; }
button { font: inherit; font-weight: 600; padding: .5rem 1.1rem; border-radius: 6px; border: 1px solid transparent; cursor: pointer; min-height: 2.75rem; min-width: 2.75rem; }
button.approve { background: var(--ok); color: #fff; }
button.reject { background: var(--bad); color: #fff; }
button.plain { background: #fff; border-color: #bdc1c6; color: var(--fg); }
.stack > * + * { margin-top: .75rem; }
.narrow { max-width: 26rem; margin: 3rem auto; }
.muted { color: var(--muted); }
.secret { font-size: 1rem; padding: .6rem; background: #fff; border: 1px dashed var(--ok); border-radius: 6px; user-select: all; overflow-wrap: anywhere; }
@media (max-width: 48rem) { .decide { grid-template-columns: 1fr; } }
/* A phone (an approver following a link from Teams): one column, rows as cards, nothing wider than the
   screen, and targets a thumb can hit. */
@media (max-width: 40rem) {
  header.top { flex-wrap: wrap; gap: 0 1rem; padding: .25rem 1rem; }
  header.top .who { margin-left: 0; flex-wrap: wrap; gap: 0 .75rem; }
  header.top a, header.top button { display: inline-flex; align-items: center; min-height: 2.75rem; }
  main { margin: 1rem auto; padding: 0 1rem; }
  .card { padding: .75rem 1rem; }
  dl.facts { grid-template-columns: minmax(0, 1fr); gap: 0; }
  dl.facts dd { margin-bottom: .5rem; }
  table, tbody, tr, td { display: block; width: 100%; }
  thead { display: none; }
  tr { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .35rem .75rem; margin: .75rem 0; }
  td { position: relative; border: 0; padding: .3rem 0 .3rem 7.25rem; min-height: 2rem; }
  td::before { content: attr(data-label); position: absolute; left: 0; top: .45rem; width: 6.75rem; color: var(--muted);
    font-size: .75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
  a.req { display: inline-flex; align-items: center; min-height: 2.75rem; padding: 0; }
}
`;
