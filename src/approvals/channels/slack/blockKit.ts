import { segmentText } from '../../web/unicode.js';
import { cut, escapeOf } from '../text.js';

/**
 * The Block Kit elements Gatehouse's Slack messages and modal use, as plain JSON types, the limits
 * Slack enforces on them, and the one rule of how untrusted text gets into them.
 *
 * Slack parses `mrkdwn` text: `<https://evil|Approve here>` is a link, `<!channel>` pings everyone,
 * `<@U123>` mentions, `*bold*` formats. `plain_text` is shown as written. So every string Gatehouse did
 * not write itself goes through `plain()`; mrkdwn carries only Gatehouse's own words (`label()`), the
 * mention of a directory member id, and code blocks (`codeBlock()`) whose text has `&`, `<`, `>`
 * escaped, its backticks made visible (a ``` inside would end the block) and `verbatim` set (no
 * automatic links or mentions).
 */

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

export interface Mrkdwn {
  type: 'mrkdwn';
  text: string;
  verbatim?: boolean;
}

export type TextObject = PlainText | Mrkdwn;

export interface HeaderBlock {
  type: 'header';
  text: PlainText;
}

export interface SectionBlock {
  type: 'section';
  text?: TextObject;
  fields?: TextObject[];
}

export interface ContextBlock {
  type: 'context';
  elements: TextObject[];
}

export interface Button {
  type: 'button';
  action_id: string;
  text: PlainText;
  value?: string;
  url?: string;
  style?: 'primary' | 'danger';
}

export interface ActionsBlock {
  type: 'actions';
  block_id?: string;
  elements: Button[];
}

export interface PlainTextInput {
  type: 'plain_text_input';
  action_id: string;
  multiline?: boolean;
  min_length?: number;
  max_length?: number;
}

export interface InputBlock {
  type: 'input';
  block_id: string;
  label: PlainText;
  element: PlainTextInput;
}

export type Block = HeaderBlock | SectionBlock | ContextBlock | ActionsBlock | InputBlock;

export interface SlackMessage {
  /** The notification's text and the fallback where blocks are not shown: Gatehouse's words only. */
  text: string;
  blocks: Block[];
}

export interface ModalView {
  type: 'modal';
  callback_id: string;
  title: PlainText;
  submit: PlainText;
  close: PlainText;
  private_metadata: string;
  blocks: Block[];
}

/** Slack's documented limits (Block Kit reference) that Gatehouse's messages come near. */
export const BLOCK_KIT_LIMITS = {
  messageBlocks: 50,
  modalBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  modalTitle: 24,
  privateMetadata: 3000,
  inputLabel: 2000,
  inputMaxLength: 3000,
  /** chat.postMessage's `text`: Slack recommends at most 4,000 characters. */
  messageText: 4000,
} as const;

/**
 * Untrusted text as plain_text, cut to `max` characters with a pointer to the request page. The
 * summary has already made suspicious characters visible; doing it again costs little and keeps a bidi
 * override off the message even if text reaches it some other way (`[U+202E]` is plain ASCII, so
 * this is idempotent). Emoji codes (`:x:`) stay as typed; Slack refuses empty text, so none is empty.
 */
export function plain(text: string, max: number = BLOCK_KIT_LIMITS.fieldText): PlainText {
  const shown = fitted(literal(text), max);
  return { type: 'plain_text', text: shown === '' ? '-' : shown, emoji: false };
}

/** Gatehouse's own words, in bold. Never pass anything else: mrkdwn is parsed. */
export function label(ours: string): Mrkdwn {
  return { type: 'mrkdwn', text: `*${ours}*` };
}

/** `&`, `<` and `>` as Slack asks them escaped in mrkdwn: what is left cannot open a link or mention. */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

const FENCE = '```';
/** A backtick, shown so that no run of them ends the code block early. */
const BACKTICK = '[U+0060]';

/** The code block's text for `text`: escaped, backticks made visible, fenced. */
function fenced(text: string): string {
  return `${FENCE}${escapeMrkdwn(text.replaceAll('`', BACKTICK))}${FENCE}`;
}

/** The horizontal ellipsis that Gatehouse's own cut marker holds. */
const ELLIPSIS = 0x2026;

/**
 * Every character text.ts would make visible (bidi, invisible, control, odd spaces, look-alikes) as
 * `[U+XXXX]`, line feeds kept. The summary did this to every untrusted string before it cut them, so
 * an ellipsis left in its text is its own cut marker's ("… [12 more characters on the request page]")
 * and stays as it is.
 */
export function literal(text: string): string {
  let out = '';
  for (const segment of segmentText(text)) {
    if ('text' in segment) out += segment.text;
    else out += segment.flag.codePoint === ELLIPSIS ? segment.flagged : escapeOf(segment.flag.codePoint);
  }
  return out;
}

/**
 * Untrusted text as a code block in mrkdwn of at most `max` characters as sent (escaping lengthens
 * it): cut with a pointer to the request page when it does not fit. `cut` says whether it was.
 */
export function codeBlock(
  text: string,
  max: number = BLOCK_KIT_LIMITS.sectionText,
): { block: Mrkdwn; cut: boolean } {
  const shown = fit(text === '' ? ' ' : literal(text), max, fenced);
  return { block: { type: 'mrkdwn', text: shown.text, verbatim: true }, cut: shown.cut };
}

/** `text` within `max` characters: cut, with the marker, when longer. */
export function fitted(text: string, max: number): string {
  return fit(text, max, (t) => t).text;
}

/** Room for text.ts's cut marker (" … [1,234,567 more characters on the request page]"). */
const MARKER_ROOM = 64;

/**
 * `render(text)`, or `render` of `text` cut short enough that the result is at most `max` UTF-16
 * units (Slack's count; a character beyond the Basic Multilingual Plane is two). Each pass cuts by
 * what is still over: escapes and surrogate pairs make rendered and kept lengths differ.
 */
function fit(text: string, max: number, render: (text: string) => string): { text: string; cut: boolean } {
  let shown = render(text);
  if (shown.length <= max) return { text: shown, cut: false };
  let keep = Array.from(text).length;
  while (shown.length > max && keep > 0) {
    keep = Math.max(0, keep - (shown.length - max) - MARKER_ROOM);
    shown = render(cut(text, keep).text);
  }
  return { text: shown, cut: true };
}
