import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RedactedArgumentsSchema, type RedactedArguments as AuditArguments } from '../audit/events.js';
import { isGatehouseError } from '../errors.js';
import { canonicalJson } from '../approvals/digest.js';
import { createRedactor, formatPath, parseJsonPath, type RedactionRules } from './index.js';

const KEY = Buffer.alloc(32, 7);
const rules = (overrides: Partial<RedactionRules> = {}): RedactionRules => ({
  names: [],
  paths: [],
  detect: true,
  ...overrides,
});
const keyed = (overrides: Partial<RedactionRules> = {}) =>
  createRedactor({ ...rules(overrides), digestKey: KEY });
const CANARY = 'canary-7f3a9c2e51';

describe('secret names', () => {
  const redactor = keyed({ names: ['ssn', 'X-Internal'] });

  it('redacts built-in names at any depth, in any case and spelling, whatever the value', () => {
    const { value, redacted } = redactor.redactArguments({
      password: CANARY,
      nested: { deeper: [{ API_KEY: 12345, 'X-Auth-Token': { a: CANARY } }] },
      clientSecret: true,
      db_password: null,
      Authorization: ['Basic', CANARY],
      sessionToken: '',
    });
    expect(value).toEqual({
      password: '[REDACTED]',
      nested: { deeper: [{ API_KEY: '[REDACTED]', 'X-Auth-Token': '[REDACTED]' }] },
      clientSecret: '[REDACTED]',
      db_password: '[REDACTED]',
      Authorization: '[REDACTED]',
      sessionToken: '[REDACTED]',
    });
    expect(redacted).toEqual([
      '$.password',
      '$.nested.deeper[0].API_KEY',
      "$.nested.deeper[0]['X-Auth-Token']",
      '$.clientSecret',
      '$.db_password',
      '$.Authorization',
      '$.sessionToken',
    ]);
  });

  it('redacts configured names exactly, ignoring case only', () => {
    const { value } = redactor.redactArguments({ SSN: '123-45-6789', ssn_hint: 'x', 'x-internal': 1 });
    expect(value).toEqual({ SSN: '[REDACTED]', ssn_hint: 'x', 'x-internal': '[REDACTED]' });
  });

  it('leaves look-alike names visible', () => {
    const args = {
      max_tokens: 100,
      tokenizer: 'cl100k',
      secretName: 'db',
      passwordPolicy: 'strict',
      nextPageToken: 'abc',
      key: 'README.md',
    };
    expect(redactor.redactArguments(args)).toMatchObject({ value: args, redacted: [] });
  });
});

describe('configured paths', () => {
  const redactor = keyed({
    paths: ['$.headers.Cookie', "$['odd key']", '$.items[*].val', '$.list[1]', '$..ref', '$.env.*'],
  });

  it('redacts each path form and only what it names', () => {
    const { value, redacted } = redactor.redactArguments({
      headers: { Cookie: 'a=1', cookie2: 'kept', Accept: 'json' },
      'odd key': { whole: 'object' },
      items: [{ val: 1, other: 2 }, { val: [3] }, 'no val here'],
      list: ['a', 'b', 'c'],
      deep: { er: { ref: 'r1', refs: 'kept' }, ref: 'r2' },
      env: { HOME: '/home/x', PATH: '/bin' },
    });
    expect(value).toEqual({
      headers: { Cookie: '[REDACTED]', cookie2: 'kept', Accept: 'json' },
      'odd key': '[REDACTED]',
      items: [{ val: '[REDACTED]', other: 2 }, { val: '[REDACTED]' }, 'no val here'],
      list: ['a', '[REDACTED]', 'c'],
      deep: { er: { ref: '[REDACTED]', refs: 'kept' }, ref: '[REDACTED]' },
      env: { HOME: '[REDACTED]', PATH: '[REDACTED]' },
    });
    expect(redacted).toEqual([
      '$.headers.Cookie',
      "$['odd key']",
      '$.items[0].val',
      '$.items[1].val',
      '$.list[1]',
      '$.deep.er.ref',
      '$.deep.ref',
      '$.env.HOME',
      '$.env.PATH',
    ]);
  });

  it('refuses a bad path when built, naming audit.redact.paths[i] and what is wrong', () => {
    let thrown: unknown;
    try {
      createRedactor(rules({ paths: ['$.ok', '$.a[?(@.b)]'] }));
    } catch (error) {
      thrown = error;
    }
    expect(isGatehouseError(thrown) && thrown.code).toBe('CONFIG_INVALID');
    expect((thrown as Error).message).toBe(
      'audit.redact.paths[1]: "$.a[?(@.b)]": filter expressions [?...] are not supported (column 5); ' +
        "supported forms: $.a.b, $['a b'], $.items[2], $.items[*].token, $..token",
    );
  });

  it('names every redacted value by a path that reads back to it', () => {
    const odd = { "it's": { 'a\\b': { '\n': CANARY } }, 'x-y': [{ password: 1 }] };
    const { redacted } = keyed({ paths: [`$["it's"]['a\\\\b']['\\n']`] }).redactArguments(odd);
    expect(redacted).toEqual(["$['it\\'s']['a\\\\b']['\\u000a']", "$['x-y'][0].password"]);
    for (const path of redacted) expect(parseJsonPath(path).ok).toBe(true);
  });
});

describe('detection inside values', () => {
  it('redacts the secret inside a string and lists its path; keys and other values stay', () => {
    const { value, redacted } = keyed().redactArguments({
      url: `postgres://app:${CANARY}@db:5432/x`,
      cmd: [`curl -H 'Authorization: Bearer ${CANARY}1' https://x`],
      n: 3,
    });
    expect(value).toEqual({
      url: 'postgres://app:[REDACTED:url-password]@db:5432/x',
      cmd: ["curl -H 'Authorization: [REDACTED:named-secret]' https://x"],
      n: 3,
    });
    expect(redacted).toEqual(['$.url', '$.cmd[0]']);
  });

  it('redacts an AWS secret key beside its access key id, whatever the field names', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzz0123456';
    const { value } = keyed().redactArguments({
      id: 'AKIAQWERTYUIOPASDFGH',
      value: secret,
      region: 'eu-west-1',
    });
    expect(value).toEqual({
      id: '[REDACTED:aws-access-key]',
      value: '[REDACTED:aws-secret-key]',
      region: 'eu-west-1',
    });
  });

  it('does not look inside strings with detect off, but still redacts names and paths', () => {
    const { value } = keyed({ detect: false, paths: ['$.x'] }).redactArguments({
      url: `https://u:${CANARY}@h`,
      token: CANARY,
      x: CANARY,
    });
    expect(value).toEqual({ url: `https://u:${CANARY}@h`, token: '[REDACTED]', x: '[REDACTED]' });
  });

  it('replaces a string longer than maxScanChars whole instead of scanning it', () => {
    const { value, redacted } = keyed({ maxScanChars: 100 }).redactArguments({
      short: 'fine',
      long: `${'x'.repeat(100)}password=${CANARY}`,
    });
    expect(value).toEqual({ short: 'fine', long: '[REDACTED:too-long]' });
    expect(redacted).toEqual(['$.long']);
  });

  it('replaces values nested deeper than maxDepth', () => {
    const { value, redacted } = keyed({ maxDepth: 2 }).redactArguments({ a: { b: { c: CANARY } }, d: 1 });
    expect(value).toEqual({ a: { b: '[REDACTED:too-deep]' }, d: 1 });
    expect(redacted).toEqual(['$.a.b']);
  });
});

describe('the digest', () => {
  const redactor = keyed({ paths: ['$.b'] });
  const args = { a: 1, b: { secret: CANARY, list: [1, 'two'] }, c: 'é' };

  it('is HMAC-SHA256 keyed by digestKey over the canonical JSON of the full arguments', () => {
    const expected = createHmac('sha256', KEY).update(canonicalJson(args)).digest('hex');
    expect(redactor.redactArguments(args).digest).toBe(`hmac-sha256:${expected}`);
  });

  it('is the same for the same arguments in any key order, and differs with any value or key', () => {
    const reordered = { c: 'é', b: { list: [1, 'two'], secret: CANARY }, a: 1 };
    const digest = redactor.redactArguments(args).digest;
    expect(redactor.redactArguments(reordered).digest).toBe(digest);
    expect(redactor.redactArguments({ ...args, a: 2 }).digest).not.toBe(digest);
    expect(keyed().redactArguments(args).digest).toBe(digest);
    expect(
      createRedactor({ ...rules(), digestKey: Buffer.alloc(32, 8) }).redactArguments(args).digest,
    ).not.toBe(digest);
  });

  it('treats absent arguments as {}', () => {
    expect(redactor.redactArguments(undefined)).toEqual(redactor.redactArguments({}));
    expect(redactor.redactArguments(undefined).value).toEqual({});
  });

  it('fills the audit event schema', () => {
    // The type is the event's type, checked when the tests compile; the value passes its schema.
    const result: AuditArguments = redactor.redactArguments(args);
    expect(RedactedArgumentsSchema.parse(result)).toEqual(result);
  });

  it('refuses arguments RFC 8785 cannot represent, and a short key', () => {
    expect(() => redactor.redactArguments({ s: '\ud800' })).toThrow(
      expect.objectContaining({ code: 'DIGEST_INPUT_INVALID' }),
    );
    expect(() => createRedactor({ ...rules(), digestKey: Buffer.alloc(8) })).toThrow(
      expect.objectContaining({ code: 'AUDIT_KEY_INVALID' }),
    );
  });

  it('is absent without a key: logs and list views show arguments without proving them', () => {
    expect(createRedactor(rules()).redactArguments({ a: 1 })).toEqual({ value: { a: 1 }, redacted: [] });
  });
});

describe('shape', () => {
  it('returns arguments without secrets as they are, and never changes the input', () => {
    const args = { path: '/tmp/x', n: [1, 2, { ok: true }] };
    expect(keyed().redactArguments(args).value).toBe(args);
    const withSecret = { a: { password: CANARY }, b: [1] };
    const copy = structuredClone(withSecret);
    const { value } = keyed().redactArguments(withSecret);
    expect(withSecret).toEqual(copy);
    expect(value.b).toBe(withSecret.b);
  });

  it('keeps a key named __proto__ as a key', () => {
    const args = JSON.parse(`{"__proto__": {"token": "${CANARY}"}, "a": 1}`) as Record<string, unknown>;
    const { value } = keyed().redactArguments(args);
    expect(Object.keys(value)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(value)).toBe('{"__proto__":{"token":"[REDACTED]"},"a":1}');
  });

  it('never changes keys or structure, and no value under a secret name survives', () => {
    const secretNames = fc.constantFrom('password', 'apiKey', 'X-Auth-Token', 'client_secret', 'cookie');
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.integer(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(fc.string(), secretNames), tie('node'), { maxKeys: 4 }),
      ),
    }));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), tree.node), secretNames, (args, name) => {
        const planted = { ...args, wrap: { [name]: { inner: CANARY } } };
        const { value } = keyed().redactArguments(planted);
        expect(JSON.stringify(value)).not.toContain(CANARY);
        expect(shapeOf(value)).toEqual(shapeOf(planted));
      }),
      { numRuns: 200 },
    );
  });
});

/** Keys and array lengths, with every leaf and every secret-named value flattened to one token. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object') {
    return Object.keys(value).map((k) => [
      k,
      /password|apikey|authtoken|secret|cookie/i.test(k.replace(/[-_]/g, ''))
        ? 'leaf'
        : shapeOf((value as Record<string, unknown>)[k]),
    ]);
  }
  return 'leaf';
}

describe('redactValue and redactText, for logs and free text', () => {
  const redactor = createRedactor(rules({ names: ['internalRef'] }));

  it('redacts names and shapes in any value', () => {
    expect(
      redactor.redactValue({
        reason: `connect ECONNREFUSED https://u:${CANARY}@h`,
        internalRef: 7,
        list: ['x'],
      }),
    ).toEqual({
      reason: 'connect ECONNREFUSED https://u:[REDACTED:url-password]@h',
      internalRef: '[REDACTED]',
      list: ['x'],
    });
    expect(redactor.redactValue(`token=${CANARY}`)).toBe('token=[REDACTED:named-secret]');
    expect(redactor.redactValue(42)).toBe(42);
  });

  it('shows other objects as JSON would, and cuts cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    class Connection {
      password = CANARY;
      host = 'db';
    }
    const out = redactor.redactValue({
      at: new Date(0),
      url: new URL(`https://bob:${CANARY}@example.com/`),
      conn: new Connection(),
      cyclic,
    });
    expect(out).toEqual({
      at: '1970-01-01T00:00:00.000Z',
      url: 'https://bob:[REDACTED:url-password]@example.com/',
      conn: { password: '[REDACTED]', host: 'db' },
      cyclic: { name: 'loop', self: '[Circular]' },
    });
  });

  it('redacts free text and leaves ordinary text as it is', () => {
    expect(redactor.redactText(`Authorization: Bearer ${CANARY}`)).toBe(
      'Authorization: [REDACTED:named-secret]',
    );
    const plain = 'wrote 3 files to /workspace (123e4567-e89b-12d3-a456-426614174000)';
    expect(redactor.redactText(plain)).toBe(plain);
  });
});

describe('formatPath', () => {
  it('writes identifiers with dots and anything else in brackets', () => {
    expect(formatPath(['a', 0, 'b c', "it's", '1x'])).toBe("$.a[0]['b c']['it\\'s']['1x']");
  });
});
