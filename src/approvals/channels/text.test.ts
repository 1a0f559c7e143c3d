import { describe, expect, it } from 'vitest';
import { cut, cutMarker, shown, visible } from './text.js';

describe('visible', () => {
  it('leaves ordinary text, markdown, mentions and template syntax as they are: channels render them literally', () => {
    const text = 'Ship it [approve](https://evil.example) <at>Bob</at> {{DATE(2026-01-01)}} — naïve 日本';
    expect(visible(text)).toEqual({ text, flagged: false });
  });

  it('escapes bidi controls, zero-width and other invisible characters, controls and look-alikes', () => {
    expect(visible('rm -rf /\u202Etxt.exe').text).toBe('rm -rf /[U+202E]txt.exe');
    expect(visible('pass\u200Bword\uFEFF').text).toBe('pass[U+200B]word[U+FEFF]');
    expect(visible('bell\u0007 del\u007F').text).toBe('bell[U+0007] del[U+007F]');
    // Cyrillic а (U+0430) in a Latin word; fullwidth Ａ.
    expect(visible('p\u0430ypal \uFF21').text).toBe('p[U+0430]ypal [U+FF21]');
    expect(visible('\u202E').flagged).toBe(true);
    // Ordinary Russian stays readable.
    expect(visible('привет').text).toBe('привет');
  });

  it('keeps line feeds in multi-line text and escapes them in one line', () => {
    expect(visible('a\nb')).toEqual({ text: 'a\nb', flagged: false });
    expect(visible('a\nb', true)).toEqual({ text: 'a[U+000A]b', flagged: true });
  });
});

describe('cut', () => {
  it('leaves short text whole and cuts long text with a marker saying how much is on the page', () => {
    expect(cut('abc', 3)).toEqual({ text: 'abc', cut: false });
    expect(cut('abcdef', 3)).toEqual({ text: `abc${cutMarker(3)}`, cut: true });
    expect(cutMarker(1234)).toBe(' … [1,234 more characters on the request page]');
  });

  it('counts characters, not UTF-16 units, and never splits a surrogate pair', () => {
    expect(cut('😀😀😀', 2).text).toBe(`😀😀${cutMarker(1)}`);
  });

  it('never ends inside an escape that made a character visible', () => {
    const made = shown('ab\u202Ecd', 5);
    expect(made.text).toBe(`ab${cutMarker(10)}`);
    expect(made.flagged).toBe(true);
    expect(shown('ab\u202Ecd', 10).text).toBe(`ab[U+202E]${cutMarker(2)}`);
  });
});
