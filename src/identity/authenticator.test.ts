import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, startTestIssuer, type TestIssuer } from '../../test/helpers/issuer.js';
import { IdentitySchema } from '../config/schema.js';
import { silentLogger } from '../log.js';
import { createHttpAuthenticator } from './authenticator.js';

const ALICE = 'alice-token-0123456789';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(() => issuer.close());

const build = (identity: Record<string, unknown>) =>
  createHttpAuthenticator(IdentitySchema.parse(identity), silentLogger);
const withTokens = () => build({ tokens: [{ token: ALICE, id: 'alice', groups: ['dev'] }] });
const withBoth = () =>
  build({
    tokens: [{ token: ALICE, id: 'alice', groups: ['dev'] }],
    jwt: { issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri },
  });

describe('no HTTP identity configured', () => {
  it('every caller is the stdio identity, whatever it sends', async () => {
    const open = build({ user: 'me', groups: ['ops'] });
    expect(open.mode).toBe('open');
    for (const header of [undefined, 'Bearer whatever', 'Basic eDp5']) {
      expect(await open.authenticate(header)).toEqual({
        ok: true,
        principal: { id: 'me', groups: ['ops'] },
        via: 'open',
      });
    }
  });

  it('the stdio identity defaults to the OS user', async () => {
    expect(await build({}).authenticate(undefined)).toMatchObject({ principal: { id: userInfo().username } });
  });
});

describe('the Authorization header', () => {
  it.each([
    ['absent', undefined, 'missing'],
    ['empty', '', 'missing'],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0', 'missing'],
    ['Bearer alone', 'Bearer', 'malformed'],
    ['two tokens', `Bearer ${ALICE} ${ALICE}`, 'malformed'],
  ])('%s is refused as %s', async (_what, header, kind) => {
    const result = await withTokens().authenticate(header);
    expect(result).toMatchObject({ ok: false, failure: { kind } });
  });

  it('takes the scheme in any case and surrounding spaces', async () => {
    expect(await withTokens().authenticate(`  bearer   ${ALICE} `)).toMatchObject({
      ok: true,
      principal: { id: 'alice' },
    });
  });

  it('never puts the token in the reason', async () => {
    const result = await withBoth().authenticate('Bearer wrong-but-secret-0123456789');
    expect(result).toEqual({ ok: false, failure: { kind: 'invalid', reason: 'unknown bearer token' } });
  });
});

describe('tokens and JWTs together', () => {
  it('a static token is its principal', async () => {
    expect(await withBoth().authenticate(`Bearer ${ALICE}`)).toEqual({
      ok: true,
      principal: { id: 'alice', groups: ['dev'] },
      via: 'token',
    });
  });

  it('a JWT is its subject', async () => {
    const token = await issuer.sign({ sub: 'carol', groups: ['ops'] });
    expect(await withBoth().authenticate(`Bearer ${token}`)).toEqual({
      ok: true,
      principal: { id: 'carol', groups: ['ops'] },
      via: 'jwt',
    });
  });

  it('a JWT cannot pass for a static-token principal', async () => {
    const token = await issuer.sign({ sub: 'alice', groups: ['admin'] });
    expect(await withBoth().authenticate(`Bearer ${token}`)).toEqual({
      ok: false,
      failure: { kind: 'invalid', reason: "the token's subject is the id of a static-token principal" },
    });
  });

  it('without a JWT issuer, a JWT is just an unknown token', async () => {
    const token = await issuer.sign({ sub: 'carol' });
    expect(await withTokens().authenticate(`Bearer ${token}`)).toEqual({
      ok: false,
      failure: { kind: 'invalid', reason: 'unknown bearer token' },
    });
  });

  it('only a JWT issuer, no tokens: bearer mode', () => {
    expect(build({ jwt: { issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri } }).mode).toBe(
      'bearer',
    );
  });
});
