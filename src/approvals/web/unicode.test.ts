import { describe, expect, it } from 'vitest';
import { segmentText, summarizeFlags, type Segment } from './unicode.js';

const flagged = (text: string) =>
  segmentText(text)
    .filter((s): s is Extract<Segment, { flag: unknown }> => 'flag' in s)
    .map((s) => [s.flag.label, s.flag.kind]);

describe('segmentText', () => {
  it('joins back to the exact input', () => {
    const text = 'p\u0430ypal \u202Egnp.exe\u202C \u200Bx\uFEFF \uFF41dmin \u{E0041}\u{1D41A} é 中文 \u0000';
    const joined = segmentText(text)
      .map((s) => ('text' in s ? s.text : s.flagged))
      .join('');
    expect(joined).toBe(text);
  });

  it('leaves ASCII, accented Latin, CJK, emoji and ordinary Russian and Greek words alone', () => {
    expect(flagged('{"path": "/tmp/a.txt", "n": 1}')).toEqual([]);
    expect(flagged('Straße café naïve')).toEqual([]);
    expect(flagged('东京 東京 😀')).toEqual([]);
    expect(flagged('привет мир, καλημέρα κόσμε')).toEqual([]);
  });

  it('flags every bidi control', () => {
    for (const cp of [
      0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c,
    ]) {
      expect(flagged(`a${String.fromCodePoint(cp)}b`)).toEqual([
        [`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`, 'bidi'],
      ]);
    }
  });

  it('flags invisible format characters, tags (naming the hidden letter), variation selectors and fillers', () => {
    expect(flagged('a\u200B\u200C\u200D\u2060\uFEFF\u00ADb')).toEqual(
      ['U+200B', 'U+200C', 'U+200D', 'U+2060', 'U+FEFF', 'U+00AD'].map((l) => [l, 'invisible']),
    );
    const [tag] = segmentText('x\u{E0041}');
    expect(tag).toEqual({ text: 'x' });
    expect(summarizeFlags(segmentText('x\u{E0041}'))[0]!.flag.description).toContain('hides "A"');
    expect(flagged('\uFE0F\u{E0100}\u3164')).toEqual([
      ['U+FE0F', 'invisible'],
      ['U+E0100', 'invisible'],
      ['U+3164', 'invisible'],
    ]);
  });

  it('flags raw control characters, unusual spaces and separators, private use', () => {
    expect(flagged('\u007F\u0085\u001B\t')).toEqual([
      ['U+007F', 'control'],
      ['U+0085', 'control'],
      ['U+001B', 'control'],
      ['U+0009', 'control'],
    ]);
    expect(flagged('{\n  "a": 1\n}')).toEqual([]);
    expect(flagged('a\u00A0b\u3000c\u2028d\u2029')).toEqual(
      ['U+00A0', 'U+3000', 'U+2028', 'U+2029'].map((l) => [l, 'space']),
    );
    expect(flagged('\uE000')).toEqual([['U+E000', 'unassigned']]);
  });

  it('flags compatibility forms whose NFKC form is ASCII: fullwidth, mathematical letters, Kelvin sign, ligatures', () => {
    expect(flagged('\uFF41\u{1D41A}\u212A\uFB01')).toEqual(
      ['U+FF41', 'U+1D41A', 'U+212A', 'U+FB01'].map((l) => [l, 'confusable']),
    );
  });

  it('flags Latin-script and punctuation lookalikes wherever they stand', () => {
    expect(flagged('/etc\u2215passwd')).toEqual([['U+2215', 'confusable']]);
    expect(flagged('adm\u0131n')).toEqual([['U+0131', 'confusable']]);
    expect(flagged('rm \u2212rf')).toEqual([['U+2212', 'confusable']]);
  });

  it('flags lookalike-script letters in words that mix them with Latin, and all-lookalike words', () => {
    expect(flagged('p\u0430ypal')).toEqual([['U+0430', 'confusable']]);
    expect(flagged('g\u03BFogle')).toEqual([['U+03BF', 'confusable']]);
    // A Cyrillic letter with no Latin twin, mixed into a Latin word, is flagged too.
    expect(flagged('adm\u0434n')).toEqual([['U+0434', 'confusable']]);
    // "рау" in Cyrillic reads "pay": the whole word is lookalikes.
    expect(flagged('\u0440\u0430\u0443')).toEqual(
      ['U+0440', 'U+0430', 'U+0443'].map((l) => [l, 'confusable']),
    );
    const [summary] = summarizeFlags(segmentText('p\u0430ypal'));
    expect(summary!.flag.description).toBe('Cyrillic "\u0430" looks like Latin "a"');
  });
});

describe('summarizeFlags', () => {
  it('lists each character once with its count, most alarming kinds first', () => {
    const summary = summarizeFlags(segmentText('\u0430pple \u200B \u200B \u202E'));
    expect(summary.map((s) => [s.flag.label, s.count])).toEqual([
      ['U+202E', 1],
      ['U+200B', 2],
      ['U+0430', 1],
    ]);
  });
});
