import { segmentText } from '../web/unicode.js';

/**
 * Untrusted text made safe to show anywhere as plain characters: every character an approver cannot
 * trust their eyes with (bidi controls, zero-width and other invisible characters, controls, unusual
 * spaces, unassigned code points, look-alikes of ASCII; see web/unicode.ts) becomes a visible escape
 * `[U+202E]`, and long text is cut at a character boundary with a marker pointing at the request page.
 * Pure.
 */

/** The visible form of one flagged character. */
export const escapeOf = (codePoint: number) => `[U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}]`;

export interface VisibleText {
  text: string;
  /** Whether any character was escaped. */
  flagged: boolean;
}

/**
 * `text` with every flagged character escaped. Line feeds stay (multi-line text such as a reason keeps
 * its lines) unless `oneLine`, where they and every other control are escaped too.
 */
export function visible(text: string, oneLine = false): VisibleText {
  let flagged = false;
  let out = '';
  for (const segment of segmentText(text)) {
    if ('text' in segment) {
      out += oneLine ? segment.text.replaceAll('\n', '[U+000A]') : segment.text;
      if (oneLine && segment.text.includes('\n')) flagged = true;
    } else {
      flagged = true;
      out += escapeOf(segment.flag.codePoint);
    }
  }
  return { text: out, flagged };
}

/** The marker that ends a cut value: how much is left out, and where to see it. */
export const cutMarker = (left: number) =>
  ` … [${left.toLocaleString('en-US')} more characters on the request page]`;

export interface CutText {
  text: string;
  cut: boolean;
}

/**
 * At most `max` characters (code points, so no surrogate pair is split, and no escape made by
 * `visible` is split either) and then the marker. Text within `max` is returned as is.
 */
export function cut(text: string, max: number): CutText {
  const chars = Array.from(text);
  if (chars.length <= max) return { text, cut: false };
  let end = max;
  // Never end inside an escape like "[U+202E]": back up to its opening bracket.
  const open = chars.lastIndexOf('[', end - 1);
  if (open >= 0 && end - open <= 10 && /^\[U\+[0-9A-F]{0,6}$/.test(chars.slice(open, end).join(''))) {
    end = open;
  }
  return { text: chars.slice(0, end).join('') + cutMarker(chars.length - end), cut: true };
}

/** Visible, then cut: how every untrusted string in a summary is shown. */
export function shown(text: string, max: number, oneLine = false): CutText & { flagged: boolean } {
  const made = visible(text, oneLine);
  return { ...cut(made.text, max), flagged: made.flagged };
}
