import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export const AUDIENCE = 'gatehouse-test';
export const KID = 'test-key-1';
const ALG = 'ES256';

export interface SignOptions {
  /** Default: the published key's kid. */
  kid?: string;
  /** Default: the issuer's private key; another key makes a bad signature. */
  key?: CryptoKey | Uint8Array;
  /** Default: ES256. */
  alg?: string;
}

/** A JWT issuer on 127.0.0.1: a real JWKS over HTTP, and tokens signed with its key. */
export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  /** Signs `claims` over defaults (iss, aud, sub alice, iat now, exp in 5 minutes). */
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(ALG);
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: KID, alg: ALG, use: 'sig' }],
  });
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') return void res.writeHead(404).end();
    fetches += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer: base,
    jwksUri: `${base}/jwks.json`,
    sign(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: base, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: options.alg ?? ALG, kid: options.kid ?? KID })
        .sign(options.key ?? privateKey);
    },
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A token with `alg: none` and no signature, as an attacker would forge it. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** A key pair the issuer never published: its signatures do not verify. */
export const foreignKey = async () => (await generateKeyPair(ALG)).privateKey;

/**
 * Tokens an attacker or a misconfigured client would present, each with the reason Gatehouse gives:
 * every one must be refused.
 */
export function forgedTokens(
  get: () => TestIssuer,
): [what: string, token: () => Promise<string>, reason: string][] {
  const now = () => Math.floor(Date.now() / 1000);
  // A getter: tables are built before beforeAll has started the issuer.
  const issuer = {
    sign: (...args: Parameters<TestIssuer['sign']>) => get().sign(...args),
    get issuer() {
      return get().issuer;
    },
  };
  return [
    ['expired', () => issuer.sign({ exp: now() - 3600 }), 'the token has expired'],
    [
      'for another audience',
      () => issuer.sign({ aud: 'another-api' }),
      'the token is meant for another audience',
    ],
    [
      'from another issuer',
      () => issuer.sign({ iss: 'https://evil.example' }),
      'the token was issued by another issuer',
    ],
    [
      'with a bad signature',
      async () => issuer.sign({}, { key: await foreignKey() }),
      "the token's signature does not verify",
    ],
    [
      'with alg none',
      async () =>
        unsignedToken({ iss: issuer.issuer, aud: AUDIENCE, sub: 'carol', groups: ['ops'], exp: now() + 300 }),
      "the token's signing algorithm is not accepted",
    ],
    [
      'with an unknown kid',
      () => issuer.sign({}, { kid: 'rotated-away' }),
      "no signing key of the issuer matches the token's header",
    ],
  ];
}
