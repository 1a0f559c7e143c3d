import { html, type HtmlValue, type SafeHtml } from '../html.js';
import { segmentText, summarizeFlags, type FlagKind, type FlagSummary } from '../unicode.js';

/**
 * The arguments exactly as they will run: pretty-printed JSON, every character shown. Characters that
 * are invisible or change the display order are replaced by a visible marker naming them (printing a
 * bidi override raw would reorder what the approver reads); lookalikes are shown highlighted with
 * their code point. A banner above lists each flagged character.
 */
export function argumentsView(args: unknown, testId = 'arguments'): { view: SafeHtml; flags: FlagSummary[] } {
  const { body, flags } = flaggedText(JSON.stringify(args, null, 2) ?? 'undefined');
  return { view: html`<pre class="args" data-testid="${testId}">${body}</pre>`, flags };
}

/** Text with every character that can deceive a reader marked, and a summary of those characters. */
export function flaggedText(text: string): { body: HtmlValue; flags: FlagSummary[] } {
  const segments = segmentText(text);
  const body = segments.map((segment) => {
    if ('text' in segment) return segment.text;
    const { flag } = segment;
    const title = `${flag.label} ${flag.description}`;
    if (shownAsMarker(flag.kind)) {
      return html`<mark class="flag hidden" data-flag="${flag.kind}" title="${title}">⟦${flag.label}⟧</mark>`;
    }
    return html`<mark class="flag" data-flag="${flag.kind}" title="${title}"
      >${segment.flagged}<span class="cp">${flag.label}</span></mark
    >`;
  });
  return { body, flags: summarizeFlags(segments) };
}

/** Everything but lookalikes is either invisible or unsafe to print as is. */
function shownAsMarker(kind: FlagKind): boolean {
  return kind !== 'confusable';
}

const KIND_TEXT: Readonly<Record<FlagKind, string>> = {
  bidi: 'Bidirectional control characters: the text may be displayed in a different order than it is stored and will run.',
  invisible: 'Invisible characters: they are in the arguments but show nothing on screen.',
  control: 'Control characters.',
  unassigned: 'Private-use or unassigned characters.',
  confusable: 'Lookalike characters: they resemble ordinary letters or symbols but are different characters.',
  space: 'Unusual spaces or line breaks that look like ordinary ones.',
};

export function flagBanner(flags: readonly FlagSummary[]): SafeHtml | undefined {
  if (flags.length === 0) return undefined;
  const kinds = [...new Set(flags.map((f) => f.flag.kind))];
  return html`<div class="banner warn" role="alert" data-testid="unicode-warning">
    <p>
      <strong>Check these arguments carefully: they contain characters that can deceive a reader.</strong>
      Each one is highlighted below and shown with its code point.
    </p>
    <ul>
      ${kinds.map((kind) => html`<li>${KIND_TEXT[kind]}</li>`)}
    </ul>
    <ul class="mono">
      ${flags.map(({ flag, count }) => html`<li>${flag.label} ×${count}: ${flag.description}</li>`)}
    </ul>
  </div>`;
}
