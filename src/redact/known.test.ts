import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createRedactor } from './redactor.js';
import {
  CREDENTIAL_MARKER,
  forgetAllCredentials,
  rememberCredential,
  scrubCredentials,
  scrubCredentialsIn,
} from './known.js';

const TOKEN = 'tok_9f8e7d6c5b4a3210zyxw';

beforeEach(() => forgetAllCredentials());

describe('credentials known by value', () => {
  it('scrubs the value, its base64 at every alignment and its URL-encoded forms', () => {
    const value = 'p@ss w0rd/+=&secret-0123';
    rememberCredential(value);
    const texts = [
      `raw ${value} raw`,
      Buffer.from(value).toString('base64'),
      Buffer.from(`user:${value}`).toString('base64'),
      Buffer.from(`ab${value}cd`).toString('base64url'),
      `?token=${encodeURIComponent(value)}`,
      `form=${new URLSearchParams({ v: value }).toString()}`,
    ];
    for (const text of texts) {
      const scrubbed = scrubCredentials(text);
      expect(scrubbed.hits, text).toBeGreaterThan(0);
      expect(scrubbed.text).toContain(CREDENTIAL_MARKER);
    }
  });

  it('finds the value base64-encoded inside any longer text', () => {
    rememberCredential(TOKEN);
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (before, after) => {
        const encoded = Buffer.from(`${before}${TOKEN}${after}`).toString('base64');
        const scrubbed = scrubCredentials(encoded);
        expect(scrubbed.hits).toBeGreaterThan(0);
        // What is left cannot be decoded back into the value.
        expect(Buffer.from(scrubbed.text, 'base64').toString('latin1')).not.toContain(TOKEN);
      }),
    );
  });

  it('counts its hits per registration, and leaves text without it alone', () => {
    const known = rememberCredential(TOKEN);
    expect(scrubCredentials('nothing here')).toEqual({ text: 'nothing here', hits: 0 });
    scrubCredentials(`${TOKEN} and ${TOKEN}`);
    expect(known.hits()).toBe(2);
  });

  it('walks JSON values, keys included, and returns the same object when nothing matched', () => {
    rememberCredential(TOKEN);
    const clean = { a: ['x', { b: 1 }] };
    expect(scrubCredentialsIn(clean).value).toBe(clean);
    const { value, hits } = scrubCredentialsIn({ content: [{ text: `Bearer ${TOKEN}` }], [TOKEN]: true });
    expect(hits).toBe(2);
    expect(JSON.stringify(value)).not.toContain(TOKEN);
  });

  it('ignores values too short to scrub safely', () => {
    rememberCredential('abc');
    expect(scrubCredentials('abcabc').hits).toBe(0);
  });

  it('remembers a bounded number of minted values; pinned ones stay', () => {
    rememberCredential('static-secret-kept-forever', true);
    rememberCredential('minted-first-0000000000');
    for (let i = 0; i < 300; i++) rememberCredential(`minted-${i.toString().padStart(16, '0')}`);
    expect(scrubCredentials('static-secret-kept-forever').hits).toBe(1);
    expect(scrubCredentials('minted-first-0000000000').hits).toBe(0);
    expect(scrubCredentials(`minted-${'299'.padStart(16, '0')}`).hits).toBe(1);
  });

  it('the redactor (logs, audit records, cards) scrubs them even with detection off', () => {
    rememberCredential(TOKEN);
    const redactor = createRedactor({ names: [], paths: [], detect: false });
    expect(redactor.redactText(`failed with ${TOKEN}`)).toBe(`failed with ${CREDENTIAL_MARKER}`);
    expect(redactor.redactValue({ note: Buffer.from(TOKEN).toString('base64') })).toEqual({
      note: CREDENTIAL_MARKER,
    });
  });
});
