import { describe, expect, it } from 'vitest';
import { applySpans, findSecrets, SECRET_KINDS, type SecretKind } from './detectors.js';
import { secretNameMatcher } from './names.js';

/**
 * Every detector with secrets it must find and look-alikes it must leave. Fake secrets are built at
 * run time so that no scanner mistakes this file for a leak.
 */

const isSecretName = secretNameMatcher([]);
const redact = (text: string) => applySpans(text, findSecrets(text, isSecretName));
const kinds = (text: string) => [...new Set(findSecrets(text, isSecretName).map((s) => s.kind))];

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const alnum = (n: number, seed = 7) =>
  Array.from({ length: n }, (_, i) => 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0z'[(i * seed) % 31]).join('');

const JWT = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'alice', exp: 1 })}.${alnum(43)}`;
const AWS_ID = `AKIA${'QWERTYUIOPASDFGH'}`;
const AWS_SECRET = `${alnum(20)}/${alnum(19, 11)}`;
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  alnum(64),
  alnum(64, 11),
  '-----END RSA PRIVATE KEY-----',
].join('\n');

/** Each kind: [text, the secret in it]. The secret must be gone, the rest of the text kept. */
const POSITIVE: Record<SecretKind, [string, string][]> = {
  'private-key': [
    [`key: ${PEM}\nnext line`, alnum(64)],
    [`{"private_key": "${PEM.replaceAll('\n', '\\n')}", "client_email": "x@y.iam"}`, alnum(64, 11)],
    ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n', 'b3BlbnNzaC1rZXktdjE'],
    [`-----BEGIN PGP PRIVATE KEY BLOCK-----\n${alnum(30)}\n-----END PGP PRIVATE KEY BLOCK-----`, alnum(30)],
  ],
  'aws-access-key': [
    [`aws_access_key_id = ${AWS_ID}`, AWS_ID],
    [`ASIA${'ZXCVBNMLKJHGFDSA'} temporary`, 'ZXCVBNMLKJHGFDSA'],
  ],
  'aws-secret-key': [
    [`${AWS_ID} ${AWS_SECRET}`, AWS_SECRET],
    [`[default]\nid = ${AWS_ID}\nkey = ${AWS_SECRET}\n`, AWS_SECRET],
  ],
  'gcp-api-key': [[`https://maps.example/?key=AIza${alnum(35)}`, `AIza${alnum(35)}`]],
  'github-token': [
    [`token ghp_${alnum(36)} used`, alnum(36)],
    [`gho_${alnum(36)}`, alnum(36)],
    [`github_pat_${alnum(22)}_${alnum(59, 11)}`, alnum(59, 11)],
  ],
  'gitlab-token': [[`glpat-${alnum(20)}`, alnum(20)]],
  'slack-token': [
    [`xoxb-1234567890-1234567890123-${alnum(24)}`, alnum(24)],
    [`xapp-1-A0123456789-1234567890123-${alnum(30)}`, alnum(30)],
  ],
  'slack-webhook': [
    [`https://hooks.slack.com/services/T0000AAAA/B0000BBBB/${alnum(24)}`, `T0000AAAA/B0000BBBB/${alnum(24)}`],
  ],
  'stripe-key': [
    [`sk_live_${alnum(24)}`, alnum(24)],
    [`rk_test_${alnum(24)}`, alnum(24)],
  ],
  'npm-token': [[`//registry.npmjs.org/:_authToken=npm_${alnum(36)}`, alnum(36)]],
  'anthropic-key': [[`x-api-key sk-ant-api03-${alnum(40)}`, alnum(40)]],
  'openai-key': [[`OPENAI sk-proj-${alnum(20)}T3BlbkFJ${alnum(20, 11)}`, alnum(20, 11)]],
  jwt: [
    [`id_token ${JWT} end`, JWT.split('.')[1]!],
    [`${b64url({ alg: 'none' })}.${b64url({ sub: 'x' })}.`, b64url({ sub: 'x' })],
  ],
  bearer: [
    ['Authorization header was Bearer abc123def456ghi789', 'abc123def456ghi789'],
    ['bearer   opaque-token.with~chars+/==', 'opaque-token.with~chars+/=='],
    [`BEARER ${'q'.repeat(24)}`, 'q'.repeat(24)],
  ],
  'basic-auth': [[`curl -H 'X: Basic ${Buffer.from('admin:s3cret!').toString('base64')}'`, 's3cret']],
  'url-password': [
    ['postgres://app:pa55w0rd@db.internal:5432/prod', 'pa55w0rd'],
    ['redis://:hunter2@cache:6379', 'hunter2'],
    ['see amqp+ssl://guest:gu%40st@mq/vhost for details', 'gu%40st'],
  ],
  'named-secret': [
    ['https://api.example/v1?user=bob&password=hunter2&x=1', 'hunter2'],
    ['DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc+def/ghi==;EndpointSuffix=x', 'abc+def'],
    ['Endpoint=sb://ns.servicebus/;SharedAccessKeyName=root;SharedAccessKey=K3yV4lue=', 'K3yV4lue'],
    ['https://acct.blob/c/b?sv=2022&sig=AbCdEf%2Bgh%3D&se=2030', 'AbCdEf'],
    ['client_secret: "s3cr3t value"', 's3cr3t value'],
    ["config {'api_key': 'k-123'}", 'k-123'],
    ['error: {"password":"p\\"4ss","user":"bob"}', 'p\\"4ss'],
    ['logged {\\"token\\":\\"tok-1\\"} as a string', 'tok-1'],
    ['X-Api-Key: abc 123 def', 'abc 123 def'],
    ['DB_PASSWORD=hunter2 npm start', 'hunter2'],
  ],
};

describe('secret detectors', () => {
  it('has examples for every kind', () => {
    expect(Object.keys(POSITIVE).sort()).toEqual([...SECRET_KINDS].sort());
  });

  for (const [kind, examples] of Object.entries(POSITIVE)) {
    it.each(examples)(`${kind}: %s`, (text, secret) => {
      expect(kinds(text)).toContain(kind);
      const out = redact(text);
      expect(out).not.toContain(secret);
      expect(out).toContain(`[REDACTED:`);
    });
  }

  it('keeps what is around a secret: the user and host of a URL, the name of a field', () => {
    expect(redact('postgres://app:pa55w0rd@db.internal:5432/prod')).toBe(
      'postgres://app:[REDACTED:url-password]@db.internal:5432/prod',
    );
    expect(redact('a?user=bob&password=hunter2&x=1')).toBe('a?user=bob&password=[REDACTED:named-secret]&x=1');
    expect(redact('Authorization: Bearer abc123def456ghi789')).toBe('Authorization: [REDACTED:named-secret]');
    expect(redact('sent Bearer abc123def456ghi789 to it')).toBe('sent Bearer [REDACTED:bearer] to it');
    expect(redact(`${PEM}\nafter`)).toBe('[REDACTED:private-key]\nafter');
  });

  it('names the detector in the marker and never keeps part of the secret', () => {
    for (const [kind, examples] of Object.entries(POSITIVE)) {
      for (const [text, secret] of examples) {
        const out = redact(text);
        for (const marker of out.match(/\[REDACTED:[a-z-]+\]/g) ?? [])
          expect(SECRET_KINDS as readonly string[]).toContain(marker.slice(10, -1));
        // No 6-character piece of the secret survives.
        for (let i = 0; i + 6 <= secret.length; i++) {
          const piece = secret.slice(i, i + 6);
          if (!text.replace(secret, '').includes(piece))
            expect(out, `${kind}: ${piece}`).not.toContain(piece);
        }
      }
    }
  });

  it.each([
    ['a UUID', '123e4567-e89b-12d3-a456-426614174000'],
    ['a hex digest of 64 characters', 'ab'.repeat(32)],
    ['a SHA-1 of 40 characters', 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'],
    ['a git-style id', 'commit 9fceb02d0ae598e95dc970b74767f19372d61af8'],
    [
      'a base64 PNG data URL',
      `data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk${'A'.repeat(200)}`,
    ],
    ['base64 of JSON without dots', b64url({ alg: 'HS256' }) + b64url({ sub: 1 })],
    [
      'three base64url parts whose header is not a JOSE header',
      `${b64url({ a: 1 })}.${b64url({ b: 2 })}.sig`,
    ],
    ['a dotted version', 'eyJfoo.bar.baz'],
    ['prose about bearer tokens', 'Send the Bearer token in the Authorization header'],
    ['prose with "basic"', 'Basic information about the project'],
    ['an AWS-like word in lower case', 'akiaqwertyuiopasdfgh'],
    ['an id that merely starts like AWS', `AKIA${'Q'.repeat(15)}`],
    ['a URL without credentials', 'https://user@example.com/path?q=1#frag'],
    ['a URL with a port', 'http://localhost:8080/api'],
    ['counts of tokens', 'max_tokens=4096 input_tokens: 12'],
    ['a pagination cursor', 'nextPageToken=CgwIABIICAEQ'],
    ['a password policy', 'password_policy=strict'],
    ['a secret name reference', 'secretName: db-credentials'],
    ['a time', 'at 12:30:45'],
    ['a file path', '/workspace/src/app/file-1.ts'],
    ['an email address', 'bob@example.com'],
    ['a GitHub-like prefix too short', `ghp_${'a'.repeat(10)}`],
    ['an sk- word', 'task-list sk-short'],
  ])('leaves %s alone', (_what, text) => {
    expect(findSecrets(text, isSecretName)).toEqual([]);
    expect(redact(text)).toBe(text);
  });
});

describe('adversarial text', () => {
  // Linear patterns finish these in milliseconds; a backtracking one would not finish at all.
  const MB = 1_000_000;
  const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

  const unchanged = (text: string, out: string) => expect(out).toBe(text);
  it.each([
    ['JWT starts inside a base64url run', fill('-eyJ'), unchanged],
    ['name characters before "="', fill(`${'a'.repeat(63)}=`), unchanged],
    ['separators only', fill(':'), unchanged],
    ['URL schemes without authority', fill('a://b:c'), unchanged],
    ['"bearer" repeated', fill('bearer '), unchanged],
    ['"sk-" repeated in a run', fill('-sk-'), unchanged],
    [
      'PEM headers without END',
      fill('-----BEGIN PRIVATE KEY-----'),
      (_text: string, out: string) => expect(out).toBe('[REDACTED:private-key]'),
    ],
    [
      'AWS-like ids',
      fill('AKIAAAAAAAAAAAAAAAAA '),
      (_text: string, out: string) => expect(out).not.toMatch(/AKIA[A-Z0-9]{16}\b/),
    ],
    [
      'open quotes after a secret name',
      fill('password="'),
      (_text: string, out: string) => expect(out.startsWith('password="[REDACTED:named-secret]"')).toBe(true),
    ],
  ])('%s (1 MB)', (_what, text, check) => check(text, redact(text)));

  it('redacts a PEM block without END to the end of the text', () => {
    expect(redact(`before -----BEGIN EC PRIVATE KEY-----\n${alnum(50)}`)).toBe(
      'before [REDACTED:private-key]',
    );
  });
});
