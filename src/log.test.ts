import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS } from './log.js';

const SECRET = 'tok-alice-0123456789abcdef';

/** One line logged through the production redaction paths. */
function logged(object: object): string {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out += chunk.toString();
      done();
    },
  });
  pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink).info(object, 'x');
  return out;
}

describe('log redaction', () => {
  const identity = { user: 'me', tokens: [{ token: SECRET, id: 'alice', groups: [] }] };

  it.each([
    ['the identity block', { identity }],
    ['the config', { config: { identity } }],
    ['the token list', { tokens: identity.tokens }],
    ['an Authorization header', { headers: { authorization: `Bearer ${SECRET}` } }],
    ['a bare token', { token: SECRET }],
    ['the OIDC client secret', { approvers: { oidc: { clientId: 'gh', clientSecret: SECRET } } }],
    ["the config's OIDC client secret", { config: { approvers: { oidc: { clientSecret: SECRET } } } }],
    ['an approver password hash', { approvers: { accounts: [{ id: 'bob', passwordHash: SECRET }] } }],
  ])('keeps the secret out of %s', (_what, object) => {
    const line = logged(object);
    expect(line).not.toContain(SECRET);
    expect(line).toContain('[redacted]');
  });

  it('keeps the principal id', () => {
    expect(logged({ identity })).toContain('"id":"alice"');
  });
});
