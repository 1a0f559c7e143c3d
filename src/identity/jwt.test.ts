import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, forgedTokens, startTestIssuer, type TestIssuer } from '../../test/helpers/issuer.js';
import { IdentitySchema } from '../config/schema.js';
import { isGatehouseError } from '../errors.js';
import { silentLogger } from '../log.js';
import { CLOCK_TOLERANCE_SECONDS, createJwtVerifier } from './jwt.js';

let issuer: TestIssuer;
let verify: ReturnType<typeof createJwtVerifier>;
beforeAll(async () => {
  issuer = await startTestIssuer();
  verify = createJwtVerifier(jwtConfig(), silentLogger);
});
afterAll(() => issuer.close());

function jwtConfig(extra: Record<string, unknown> = {}) {
  const { jwt } = IdentitySchema.parse({
    jwt: { issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri, ...extra },
  });
  return jwt!;
}

const now = () => Math.floor(Date.now() / 1000);

describe('JWT access tokens: who', () => {
  it('the principal is the subject, its groups the groups claim', async () => {
    const result = await verify(await issuer.sign({ sub: 'carol', groups: ['ops', 'dev'] }));
    expect(result).toEqual({ ok: true, principal: { id: 'carol', groups: ['ops', 'dev'] }, via: 'jwt' });
  });

  it.each([
    ['a space-separated string', 'ops  dev', ['ops', 'dev']],
    ['absent', undefined, []],
    ['an empty list', [], []],
  ])('groups as %s', async (_what, groups, expected) => {
    const result = await verify(await issuer.sign({ groups }));
    expect(result).toMatchObject({ ok: true, principal: { groups: expected } });
  });

  it.each([
    ['a number', 7],
    ['a list with a number', ['ops', 7]],
    ['an object', { ops: true }],
  ])(
    'a groups claim that is %s refuses the token (read as none, it would slip past a group deny)',
    async (_w, groups) => {
      const result = await verify(await issuer.sign({ groups }));
      expect(result).toEqual({
        ok: false,
        failure: {
          kind: 'invalid',
          reason: `the token's "groups" claim is neither a list of strings nor a string`,
        },
      });
    },
  );

  it('reads the configured claims', async () => {
    const custom = createJwtVerifier(
      jwtConfig({ subjectClaim: 'email', groupsClaim: 'roles' }),
      silentLogger,
    );
    const result = await custom(await issuer.sign({ email: 'carol@example.com', roles: 'admin' }));
    expect(result).toMatchObject({ ok: true, principal: { id: 'carol@example.com', groups: ['admin'] } });
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['a number', 42],
  ])('a subject that is %s refuses the token', async (_what, sub) => {
    // A JWTPayload types sub as a string; the issuer under test may put anything there.
    const result = await verify(await issuer.sign({ sub } as Record<string, unknown>));
    expect(result).toMatchObject({
      ok: false,
      failure: { kind: 'invalid', reason: expect.stringContaining('"sub"') },
    });
  });
});

describe('JWT access tokens: refused', () => {
  const cases: [string, () => Promise<string>, string][] = [
    ...forgedTokens(() => issuer),
    [
      'expired just beyond the clock tolerance',
      () => issuer.sign({ exp: now() - CLOCK_TOLERANCE_SECONDS - 5 }),
      'the token has expired',
    ],
    ['without exp', () => issuer.sign({ exp: undefined }), 'the token has no valid expiry'],
    [
      'not valid yet',
      () => issuer.sign({ nbf: now() + CLOCK_TOLERANCE_SECONDS + 60 }),
      'the token is not valid yet',
    ],
    [
      'HS256 with a guessed secret',
      () => issuer.sign({}, { alg: 'HS256', key: new TextEncoder().encode('x'.repeat(32)) }),
      "the token's signing algorithm is not accepted",
    ],
    ['garbage', async () => 'not.a.jwt', 'the token is not a well-formed JWT'],
  ];

  it.each(cases)('%s', async (_what, token, reason) => {
    expect(await verify(await token())).toEqual({ ok: false, failure: { kind: 'invalid', reason } });
  });

  it('tolerates a little clock skew', async () => {
    const result = await verify(await issuer.sign({ exp: now() - 5, nbf: now() + 5 }));
    expect(result.ok).toBe(true);
  });

  it('an algorithm outside the configured list is refused', async () => {
    const rsOnly = createJwtVerifier(jwtConfig({ algorithms: ['RS256'] }), silentLogger);
    expect(await rsOnly(await issuer.sign())).toEqual({
      ok: false,
      failure: { kind: 'invalid', reason: "the token's signing algorithm is not accepted" },
    });
  });

  it('keys that cannot be fetched: unavailable, not invalid', async () => {
    const unreachable = createJwtVerifier(
      jwtConfig({ jwksUri: `${issuer.issuer}/no-such-jwks.json` }),
      silentLogger,
    );
    expect(await unreachable(await issuer.sign())).toEqual({
      ok: false,
      failure: { kind: 'unavailable', reason: "the issuer's signing keys cannot be fetched" },
    });
  });
});

describe('JWT configuration', () => {
  it.each([[['none']], [['HS256']], [['RS256', 'HS512']], [[]]])(
    'algorithms %j are refused at start',
    (algorithms) => {
      try {
        createJwtVerifier(jwtConfig({ algorithms }), silentLogger);
        expect.unreachable();
      } catch (error) {
        expect(isGatehouseError(error, 'CONFIG_INVALID')).toBe(true);
        expect(String(error)).toMatch(/identity\.jwt\.algorithms/);
      }
    },
  );
});
