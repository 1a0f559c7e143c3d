import * as crypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { createTokenMatcher } from './tokens.js';

vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof crypto>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-0123456789ab';
const match = createTokenMatcher([
  { token: ALICE, id: 'alice', groups: ['dev'] },
  { token: BOB, id: 'bob', groups: [] },
]);

describe('static bearer tokens', () => {
  it('maps each token to its principal', () => {
    expect(match(ALICE)).toEqual({ id: 'alice', groups: ['dev'] });
    expect(match(BOB)).toEqual({ id: 'bob', groups: [] });
  });

  it.each([
    ['a prefix', ALICE.slice(0, -1)],
    ['one more character', `${ALICE}x`],
    ['the last character changed', `${ALICE.slice(0, -1)}X`],
    ['another case', ALICE.toUpperCase()],
    ['empty', ''],
  ])('knows nobody for %s', (_what, token) => {
    expect(match(token)).toBeUndefined();
  });

  it('compares with every configured token in constant time, also after a match', () => {
    const compare = vi.mocked(crypto.timingSafeEqual);
    compare.mockClear();
    match(ALICE);
    expect(compare).toHaveBeenCalledTimes(2);
    compare.mockClear();
    match('nobody-0123456789abcdef');
    expect(compare).toHaveBeenCalledTimes(2);
  });

  it('two tokens may name one principal (rotation)', () => {
    const rotating = createTokenMatcher([
      { token: ALICE, id: 'alice', groups: [] },
      { token: BOB, id: 'alice', groups: [] },
    ]);
    expect(rotating(BOB)?.id).toBe('alice');
  });

  it('refuses a token given twice, naming both entries', () => {
    const build = () =>
      createTokenMatcher([
        { token: ALICE, id: 'alice', groups: [] },
        { token: BOB, id: 'bob', groups: [] },
        { token: ALICE, id: 'mallory', groups: [] },
      ]);
    expect(build).toThrow(/identity\.tokens\[2\] repeats the token of identity\.tokens\[0\]/);
    try {
      build();
    } catch (error) {
      expect(isGatehouseError(error, 'CONFIG_INVALID')).toBe(true);
      expect(String(error)).not.toContain(ALICE);
    }
  });
});
