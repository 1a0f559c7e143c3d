import { cut } from './outcome.js';

/**
 * One line that tells two requests for the same tool apart in a list: `path: "/tmp/a.txt", mode: 420`.
 * Give it arguments already redacted (list views show no secret); every value is cut, and so is the
 * line. The line is raw text: whoever shows it makes deceptive characters visible (the page flags
 * them, the CLI escapes them), as they do for every other text a client sent.
 *
 * The channels' summary (approvals/channels/summary.ts, `argumentsLine`) may replace this; until then
 * the page and the CLI use it.
 */
export const MAX_VALUE = 48;
export const MAX_LINE = 160;

export function argumentsLine(args: Record<string, unknown>, maxLine = MAX_LINE): string {
  const entries = Object.entries(args);
  if (entries.length === 0) return '(no arguments)';
  const line = entries.map(([key, value]) => `${name(key)}: ${cut(json(value), MAX_VALUE)}`).join(', ');
  return cut(line, maxLine);
}

/** A key as it would be written in JavaScript: bare when it is an identifier, quoted otherwise. */
function name(key: string): string {
  return /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
}

/** Compact JSON, with newlines and other control characters escaped by JSON itself. */
function json(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
