import { describe, expect, it } from 'vitest';
import { OidcSignInError, principalFrom } from './oidc.js';

const settings = { subjectClaim: 'email', groupsClaim: 'roles' };

describe('principalFrom', () => {
  it('takes the id from the subject claim and the groups from the groups claim', () => {
    expect(
      principalFrom({ sub: 'x1', email: 'dana@example.com', roles: ['security', 'ops', 'ops'] }, settings),
    ).toEqual({
      id: 'dana@example.com',
      groups: ['security', 'ops'],
    });
  });

  it('accepts a single group as a string and drops values that are not strings', () => {
    expect(principalFrom({ email: 'd', roles: 'security' }, settings).groups).toEqual(['security']);
    expect(principalFrom({ email: 'd', roles: ['a', 1, null, '', { b: 1 }] }, settings).groups).toEqual([
      'a',
    ]);
    expect(principalFrom({ email: 'd' }, settings).groups).toEqual([]);
  });

  it('refuses a missing, empty or non-string subject', () => {
    for (const email of [undefined, '', 42, ['dana']]) {
      expect(() => principalFrom({ email }, settings)).toThrow(OidcSignInError);
    }
    expect(() => principalFrom({}, settings)).toThrow('the "email" claim is missing');
  });
});
