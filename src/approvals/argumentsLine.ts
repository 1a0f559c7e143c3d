import { CUT, cut } from './outcome.js';

/**
 * One line that tells two requests for the same tool apart in a list: `path: "/tmp/a.txt", mode: 420`.
 * Give it arguments already redacted (list views show no secret). A long string keeps its start and
 * its end, where paths and names differ, and loses its middle (`"/home/alice/pro[...]/q2/report.txt"`);
 * other long values are cut after MAX_VALUE characters; entries that do not fit in MAX_LINE are
 * counted instead of shown. The line is raw text: whoever shows it makes
 * deceptive characters visible (the page flags them, the CLI escapes them), as for any text a client
 * sent.
 *
 * The channels' summary (approvals/channels/summary.ts) shows this same line, made visible.
 */
export const MAX_VALUE = 48;
export const MAX_LINE = 160;

export function argumentsLine(args: Record<string, unknown>): string {
  const entries = Object.entries(args).map(([key, value]) => `${name(key)}: ${shown(value)}`);
  if (entries.length === 0) return '(no arguments)';
  let line = entries[0]!;
  for (const [i, entry] of entries.entries()) {
    if (i === 0) continue;
    if (Array.from(line).length + 2 + Array.from(entry).length > MAX_LINE) {
      return `${line}, ${CUT} ${entries.length - i} more`;
    }
    line += `, ${entry}`;
  }
  return line;
}

/** A key as JavaScript would write it: bare when it is an identifier, quoted otherwise; cut. */
function name(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? cut(key, MAX_VALUE) : quoted(key);
}

/** Compact JSON (newlines and other control characters escaped by JSON itself), cut. */
function shown(value: unknown): string {
  if (typeof value === 'string') return quoted(value);
  return cut(JSON.stringify(value) ?? String(value), MAX_VALUE);
}

/** How much of a long string's start is kept; the rest of MAX_VALUE goes to its end. */
const HEAD = 16;

/** A string in JSON quotes; a long one without its middle (cut in characters, then each part escaped). */
function quoted(text: string): string {
  const points = Array.from(text);
  if (points.length <= MAX_VALUE) return JSON.stringify(text);
  const head = JSON.stringify(points.slice(0, HEAD).join('')).slice(0, -1);
  const tail = JSON.stringify(points.slice(HEAD - MAX_VALUE).join('')).slice(1);
  return `${head}${CUT}${tail}`;
}
