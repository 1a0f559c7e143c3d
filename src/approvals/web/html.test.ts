import { describe, expect, it } from 'vitest';
import { escapeHtml, html, SafeHtml } from './html.js';

describe('html', () => {
  it('escapes every interpolated string, including attribute quotes', () => {
    const evil = `"><script>alert('x')</script>&`;
    expect(html`<a title="${evil}">${evil}</a>`.value).toBe(
      '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</a>',
    );
  });

  it('nests SafeHtml and arrays unescaped, and renders false, null and undefined as nothing', () => {
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`${inner}${[html`<i>x</i>`, '<']}${false}${null}${undefined}${0}`.value).toBe(
      '<b>&lt;i&gt;</b><i>x</i>&lt;0',
    );
    expect(html`${new SafeHtml('<u>')}`.value).toBe('<u>');
  });

  it('escapeHtml leaves other characters as they are', () => {
    expect(escapeHtml('a\u202Eb é')).toBe('a\u202Eb é');
  });
});
