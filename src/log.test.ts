import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS, redactingOptions } from './log.js';
import { createRedactor } from './redact/index.js';

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

describe('secrets in logged values, errors and messages', () => {
  const CANARY = 'c4nary-9f8e7d6c5b';
  /** Lines logged the way createLogger logs them: config paths, then the redactor. */
  function logger(names: string[] = []) {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = pino(
      {
        redact: { paths: REDACT_PATHS, censor: '[redacted]' },
        ...redactingOptions(createRedactor({ names, paths: [], detect: true })),
      },
      sink,
    );
    return { log, text: () => lines.join('') };
  }

  it("redacts a downstream's error message, its stack and its cause, and keeps the error's type", () => {
    const { log, text } = logger();
    const cause = new Error(`upstream said: Bearer ${CANARY}`);
    const error = new TypeError(`connect failed for postgres://app:${CANARY}@db/prod`, { cause });
    log.error({ err: error, server: 'db' }, 'downstream server failed to start');
    const line = JSON.parse(text()) as { err: { type: string; message: string; stack: string } };
    expect(text()).not.toContain(CANARY);
    expect(line.err.type).toBe('TypeError');
    expect(line.err.message).toContain('postgres://app:[REDACTED:url-password]@db/prod');
    expect(line.err.message).toContain('Bearer [REDACTED:bearer]');
    expect(line.err.stack).toContain('at ');
  });

  it('redacts an error logged alone, whose message becomes the line message', () => {
    const { log, text } = logger();
    log.warn(new Error(`password=${CANARY}`));
    expect(text()).not.toContain(CANARY);
    expect(JSON.parse(text()).msg).toBe('password=[REDACTED:named-secret]');
  });

  it('redacts reasons, URLs and names at any depth, and configured names', () => {
    const { log, text } = logger(['internalRef']);
    log.info(
      {
        reason: `Error: 401 for https://api.example/?access_token=${CANARY}`,
        call: { arguments: { nested: [{ apiKey: CANARY }] } },
        internalRef: CANARY,
        server: 'fs',
      },
      `stderr line with AKIA${'QWERTYUIOPASDFGH'} and token: ${CANARY}`,
    );
    expect(text()).not.toContain(CANARY);
    expect(text()).not.toContain('QWERTYUIOPASDFGH');
    const line = JSON.parse(text());
    expect(line).toMatchObject({
      reason: 'Error: 401 for https://api.example/?access_token=[REDACTED:named-secret]',
      call: { arguments: { nested: [{ apiKey: '[REDACTED]' }] } },
      internalRef: '[REDACTED]',
      server: 'fs',
    });
  });

  it('leaves ordinary lines as they are', () => {
    const { log, text } = logger();
    log.info({ approvalId: '123e4567-e89b-12d3-a456-426614174000', tools: 3 }, 'downstream connected');
    expect(JSON.parse(text())).toMatchObject({
      approvalId: '123e4567-e89b-12d3-a456-426614174000',
      tools: 3,
      msg: 'downstream connected',
    });
  });
});
