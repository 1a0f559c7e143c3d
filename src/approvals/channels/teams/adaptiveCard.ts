import { segmentText } from '../../web/unicode.js';

/**
 * The Adaptive Card elements Gatehouse's cards use, as plain JSON types (Adaptive Cards 1.5, the
 * highest Teams renders), and the one rule of how untrusted text gets onto a card.
 *
 * Teams parses markdown, `<at>` mentions and `{{DATE()}}` templates in TextBlock text and in FactSet
 * values, never in a TextRun of a RichTextBlock. So every string Gatehouse did not write itself goes
 * through `run()` into a TextRun; TextBlock takes only Gatehouse's own fixed words (`heading()`).
 */

export interface TextRun {
  type: 'TextRun';
  text: string;
  weight?: 'Bolder';
  fontType?: 'Monospace';
  color?: 'Attention' | 'Good' | 'Warning' | 'Accent';
  isSubtle?: boolean;
  size?: 'Small' | 'Medium' | 'Large';
}

export interface RichTextBlock {
  type: 'RichTextBlock';
  inlines: TextRun[];
  spacing?: 'None' | 'Small' | 'Medium';
  separator?: boolean;
}

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap: true;
  weight?: 'Bolder';
  size?: 'Medium' | 'Large';
  color?: TextRun['color'];
}

export interface TextInput {
  type: 'Input.Text';
  id: string;
  label: string;
  isMultiline: true;
  isRequired: true;
  errorMessage: string;
  maxLength: number;
}

export type CardElement = TextBlock | RichTextBlock | TextInput;

export interface ExecuteAction {
  type: 'Action.Execute';
  title?: string;
  verb: string;
  data: Record<string, string>;
  style?: 'positive' | 'destructive';
  associatedInputs?: 'auto' | 'none';
}

export interface OpenUrlAction {
  type: 'Action.OpenUrl';
  title: string;
  url: string;
}

export interface ShowCardAction {
  type: 'Action.ShowCard';
  title: string;
  style?: 'positive' | 'destructive';
  card: AdaptiveCard;
}

export type CardAction = ExecuteAction | OpenUrlAction | ShowCardAction;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema?: string;
  version?: '1.4' | '1.5';
  body: CardElement[];
  actions?: CardAction[];
  /** Universal Actions: Teams asks the bot for a user-specific view of the card (listed users automatically). */
  refresh?: { action: ExecuteAction; userIds: string[] };
  /** Teams-only (not in the Adaptive Card schema): use the conversation's full width. */
  msteams?: { width: 'Full' };
}

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/**
 * Untrusted text as a TextRun. The summary has already made suspicious characters visible; doing it
 * again here costs little and keeps a bidi override or a zero-width character off the card even if
 * text reaches it some other way (escapes like `[U+202E]` are plain ASCII, so this is idempotent).
 */
export function run(text: string, style: Omit<TextRun, 'type' | 'text'> = {}): TextRun {
  return { type: 'TextRun', text: literal(text), ...style };
}

/** Every character segmentText flags (bidi, invisible, control, odd spaces, look-alikes) as `[U+XXXX]`. */
export function literal(text: string): string {
  let out = '';
  for (const segment of segmentText(text))
    out += 'text' in segment ? segment.text : `[${segment.flag.label}]`;
  return out;
}

/** A paragraph of runs. */
export function paragraph(...inlines: TextRun[]): RichTextBlock {
  return { type: 'RichTextBlock', inlines, spacing: 'Small' };
}

/** Gatehouse's own words only: TextBlock text is markdown. */
export function heading(text: string, color?: TextRun['color']): TextBlock {
  return {
    type: 'TextBlock',
    text,
    wrap: true,
    weight: 'Bolder',
    size: 'Medium',
    ...(color ? { color } : {}),
  };
}

/** The size Teams counts: the card's JSON in UTF-8. */
export function cardBytes(card: AdaptiveCard): number {
  return Buffer.byteLength(JSON.stringify(card), 'utf8');
}
