/**
 * Finds the characters an approver cannot trust their eyes with, so the page can show the arguments
 * exactly and still make every such character visible. Pure: text in, segments out.
 *
 * Flagged:
 * - bidi: explicit direction controls (U+202A–E, U+2066–9, U+200E/F, U+061C), which can make stored
 *   text display in another order than it runs;
 * - invisible: other format characters (Cf: zero-width space and joiners, BOM, soft hyphen, tag
 *   characters that smuggle hidden ASCII), variation selectors and fillers that render as nothing;
 * - control: control characters other than the line feed (JSON.stringify escapes C0 inside strings,
 *   but leaves DEL and C1 raw; other text, like a tool name, may hold any);
 * - space: whitespace that is not an ASCII space, line and paragraph separators;
 * - unassigned: private-use, unassigned code points and lone surrogates;
 * - confusable: characters that look like ASCII: compatibility forms whose NFKC form is ASCII
 *   (fullwidth, mathematical letters, ligatures, Kelvin sign), a small table of homoglyphs in Latin
 *   and Common script (dotless i, division slash, minus sign), and letters of Cyrillic, Greek, Armenian
 *   or Cherokee script in a word that also has Latin letters, or in a word made only of Latin
 *   lookalikes (UTS #39's mixed-script and whole-script confusables). Ordinary Russian or Greek words
 *   are not flagged.
 */

export type FlagKind = 'bidi' | 'invisible' | 'control' | 'space' | 'unassigned' | 'confusable';

export interface Flag {
  kind: FlagKind;
  codePoint: number;
  /** `U+202E`. */
  label: string;
  /** What it is and why it matters, for a person. */
  description: string;
}

export type Segment = { text: string } | { flagged: string; flag: Flag };

/** The most alarming first: the banner lists kinds in this order. */
export const FLAG_KINDS: readonly FlagKind[] = [
  'bidi',
  'invisible',
  'control',
  'unassigned',
  'confusable',
  'space',
];

const BIDI_NAMES: Readonly<Record<number, string>> = {
  0x061c: 'ARABIC LETTER MARK',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
};

const INVISIBLE_NAMES: Readonly<Record<number, string>> = {
  0x00ad: 'SOFT HYPHEN',
  0x034f: 'COMBINING GRAPHEME JOINER',
  0x115f: 'HANGUL CHOSEONG FILLER',
  0x1160: 'HANGUL JUNGSEONG FILLER',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x2060: 'WORD JOINER',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x3164: 'HANGUL FILLER',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE (BOM)',
  0xffa0: 'HALFWIDTH HANGUL FILLER',
};

const SPACE_NAMES: Readonly<Record<number, string>> = {
  0x00a0: 'NO-BREAK SPACE',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202f: 'NARROW NO-BREAK SPACE',
  0x205f: 'MEDIUM MATHEMATICAL SPACE',
  0x3000: 'IDEOGRAPHIC SPACE',
};

/**
 * Latin and Common-script characters that pass for ASCII and are not caught by NFKC: flagged wherever
 * they stand. Deliberately small: the ones seen in practice in paths, hosts and commands.
 */
const LOOKALIKES: Readonly<Record<number, string>> = {
  0x0131: 'i', // dotless i
  0x0237: 'j', // dotless j
  0x01c0: 'l', // dental click
  0x01c3: '!', // retroflex click
  0x0251: 'a', // alpha (Latin)
  0x0261: 'g', // script g
  0x0269: 'i', // iota (Latin)
  0x026a: 'I', // small capital I
  0x02bc: "'", // modifier letter apostrophe
  0x02d7: '-', // modifier letter minus
  0x201a: ',', // single low-9 quotation mark
  0x2010: '-', // hyphen
  0x2011: '-', // non-breaking hyphen
  0x2012: '-', // figure dash
  0x2044: '/', // fraction slash
  0x2212: '-', // minus sign
  0x2215: '/', // division slash
  0x29f8: '/', // big solidus
  0x0589: ':', // Armenian full stop
  0x05c3: ':', // Hebrew punctuation sof pasuq
  0xa789: ':', // modifier letter colon
  0xa4f8: '.', // Lisu letter tone mya ti
};

/** Letters of other scripts that look like Latin letters: flagged in mixed-script or all-lookalike words. */
// prettier-ignore
const HOMOGLYPHS: Readonly<Record<number, string>> = {
  // Cyrillic
  0x0430: 'a', 0x0435: 'e', 0x043e: 'o', 0x0440: 'p', 0x0441: 'c', 0x0443: 'y', 0x0445: 'x',
  0x0455: 's', 0x0456: 'i', 0x0458: 'j', 0x04bb: 'h', 0x04cf: 'l', 0x0501: 'd', 0x051b: 'q', 0x051d: 'w',
  0x0410: 'A', 0x0412: 'B', 0x0415: 'E', 0x041a: 'K', 0x041c: 'M', 0x041d: 'H', 0x041e: 'O',
  0x0420: 'P', 0x0421: 'C', 0x0422: 'T', 0x0423: 'Y', 0x0425: 'X', 0x0405: 'S', 0x0406: 'I',
  0x0408: 'J', 0x04ae: 'Y', 0x04c0: 'I', 0x051a: 'Q', 0x051c: 'W',
  // Greek
  0x03b1: 'a', 0x03b3: 'y', 0x03b9: 'i', 0x03ba: 'k', 0x03bd: 'v', 0x03bf: 'o', 0x03c1: 'p',
  0x03c5: 'u', 0x03c7: 'x', 0x03f2: 'c', 0x03f3: 'j',
  0x0391: 'A', 0x0392: 'B', 0x0395: 'E', 0x0396: 'Z', 0x0397: 'H', 0x0399: 'I', 0x039a: 'K',
  0x039c: 'M', 0x039d: 'N', 0x039f: 'O', 0x03a1: 'P', 0x03a4: 'T', 0x03a5: 'Y', 0x03a7: 'X', 0x03f9: 'C',
  // Armenian
  0x0561: 'w', 0x0566: 'q', 0x0570: 'h', 0x0578: 'n', 0x057d: 'u', 0x0581: 'g', 0x0585: 'o',
  0x054d: 'U', 0x054f: 'S', 0x0555: 'O',
  // Cherokee
  0x13a2: 'T', 0x13aa: 'A', 0x13ab: 'J', 0x13ac: 'E', 0x13b3: 'W', 0x13b7: 'M', 0x13bb: 'H',
  0x13c3: 'Z', 0x13da: 'S', 0x13df: 'C', 0x13e2: 'P', 0x13e6: 'K', 0x13f4: 'B',
};

/** Scripts whose letters pass for Latin ones; their letters in a word with Latin letters are flagged. */
const LOOKALIKE_SCRIPTS: readonly [string, RegExp][] = [
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
];

const LATIN = /\p{Script=Latin}/u;
const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;
const LETTER = /\p{L}/u;
const FORMAT = /\p{Cf}/u;
const CONTROL = /\p{Cc}/u;
const SEPARATOR = /[\p{Zs}\p{Zl}\p{Zp}]/u;
const UNASSIGNED = /[\p{Cn}\p{Co}\p{Cs}]/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

export function codePointLabel(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Splits `text` into runs of ordinary text and single flagged characters, in order; joined, they are `text`. */
export function segmentText(text: string): Segment[] {
  const chars = Array.from(text);
  const flags: (Flag | undefined)[] = chars.map(classify);
  flagConfusableWords(chars, flags);

  const segments: Segment[] = [];
  let run = '';
  chars.forEach((char, i) => {
    const flag = flags[i];
    if (!flag) {
      run += char;
      return;
    }
    if (run) segments.push({ text: run });
    run = '';
    segments.push({ flagged: char, flag });
  });
  if (run) segments.push({ text: run });
  return segments;
}

export interface FlagSummary {
  flag: Flag;
  count: number;
}

/** Each distinct flagged character once, with how often it occurs, the most alarming kinds first. */
export function summarizeFlags(segments: readonly Segment[]): FlagSummary[] {
  const byCodePoint = new Map<number, FlagSummary>();
  for (const segment of segments) {
    if (!('flag' in segment)) continue;
    const seen = byCodePoint.get(segment.flag.codePoint);
    if (seen) seen.count += 1;
    else byCodePoint.set(segment.flag.codePoint, { flag: segment.flag, count: 1 });
  }
  return [...byCodePoint.values()].sort(
    (a, b) =>
      FLAG_KINDS.indexOf(a.flag.kind) - FLAG_KINDS.indexOf(b.flag.kind) ||
      a.flag.codePoint - b.flag.codePoint,
  );
}

/** The flag of a character on its own; word context (mixed scripts) is added by flagConfusableWords. */
function classify(char: string): Flag | undefined {
  const codePoint = char.codePointAt(0)!;
  // Printable ASCII, and line feeds (the line breaks of pretty-printed JSON; inside a JSON string they
  // are escaped, like every other C0 control).
  if ((codePoint >= 0x20 && codePoint < 0x7f) || codePoint === 0x0a) return undefined;
  const flag = (kind: FlagKind, description: string): Flag => ({
    kind,
    codePoint,
    label: codePointLabel(codePoint),
    description,
  });

  const bidi = BIDI_NAMES[codePoint];
  if (bidi) return flag('bidi', `${bidi}: changes the order in which the text around it is displayed`);
  if (CONTROL.test(char)) return flag('control', 'control character');
  const invisible = INVISIBLE_NAMES[codePoint];
  if (invisible) return flag('invisible', `${invisible}: invisible`);
  if (codePoint >= 0xe0000 && codePoint <= 0xe007f) {
    const hidden =
      codePoint >= 0xe0020 && codePoint <= 0xe007e
        ? ` (hides "${String.fromCodePoint(codePoint - 0xe0000)}")`
        : '';
    return flag('invisible', `TAG character${hidden}: invisible, can smuggle hidden text`);
  }
  if ((codePoint >= 0xfe00 && codePoint <= 0xfe0f) || (codePoint >= 0xe0100 && codePoint <= 0xe01ef)) {
    return flag('invisible', 'VARIATION SELECTOR: invisible, can smuggle hidden data');
  }
  if (FORMAT.test(char)) return flag('invisible', 'format character: invisible');
  if (SEPARATOR.test(char))
    return flag(
      'space',
      `${SPACE_NAMES[codePoint] ?? 'non-ASCII space'}: looks like a space or a line break`,
    );
  if (UNASSIGNED.test(char))
    return flag('unassigned', 'private-use, unassigned or lone surrogate code point');

  const compatible = char.normalize('NFKC');
  if (compatible !== char && PRINTABLE_ASCII.test(compatible)) {
    return flag('confusable', `compatibility form of "${compatible}" (fullwidth, styled or ligature)`);
  }
  const lookalike = LOOKALIKES[codePoint];
  if (lookalike) return flag('confusable', `looks like ASCII "${lookalike}"`);
  return undefined;
}

/**
 * Words (runs of letters, marks and digits) that mix Latin with a lookalike script get their
 * lookalike-script letters flagged; words made only of homoglyphs (Cyrillic "рау" reads "pay") get all
 * of them flagged.
 */
function flagConfusableWords(chars: readonly string[], flags: (Flag | undefined)[]): void {
  let start = 0;
  while (start < chars.length) {
    if (!WORD_CHAR.test(chars[start]!)) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < chars.length && WORD_CHAR.test(chars[end]!)) end += 1;
    flagWord(chars, flags, start, end);
    start = end;
  }
}

function flagWord(chars: readonly string[], flags: (Flag | undefined)[], start: number, end: number): void {
  const letters: number[] = [];
  for (let i = start; i < end; i += 1) if (LETTER.test(chars[i]!)) letters.push(i);
  const hasLatin = letters.some((i) => LATIN.test(chars[i]!));
  const allHomoglyphs =
    letters.length > 0 && letters.every((i) => HOMOGLYPHS[chars[i]!.codePointAt(0)!] !== undefined);
  for (const i of letters) {
    if (flags[i]) continue;
    const char = chars[i]!;
    const script = LOOKALIKE_SCRIPTS.find(([, pattern]) => pattern.test(char))?.[0];
    if (!script) continue;
    const codePoint = char.codePointAt(0)!;
    const looksLike = HOMOGLYPHS[codePoint];
    if (!hasLatin && !allHomoglyphs) continue;
    flags[i] = {
      kind: 'confusable',
      codePoint,
      label: codePointLabel(codePoint),
      description: looksLike
        ? `${script} "${char}" looks like Latin "${looksLike}"`
        : `${script} letter in a word with Latin letters`,
    };
  }
}
