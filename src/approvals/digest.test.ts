import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatehouseError, isGatehouseError } from '../errors.js';
import {
  canonicalJson,
  invocationDigest,
  sha256Canonical,
  toolDefinitionDigest,
  type Invocation,
} from './digest.js';

/*
 * Golden vectors: fixed inputs, fixed digests. They were cross-checked against an independent
 * implementation (Python's json.dumps with sorted keys plus hashlib, with ES number formatting by hand)
 * and must never be regenerated: a changed digest strands every stored approval.
 */

const WRITE_FILE = {
  name: 'write_file',
  description: 'Create or overwrite a file.',
  inputSchema: {
    type: 'object' as const,
    properties: { path: { type: 'string' }, content: { type: 'string' } },
    required: ['path', 'content'],
  },
};
const WRITE_FILE_DIGEST = '307152ea9abbf1f02f70dad2de7cca8122659a5a87f647f63d008af3167666e1';

const BASE: Invocation = {
  server: 'fs',
  tool: 'write_file',
  toolDefinitionDigest: WRITE_FILE_DIGEST,
  arguments: { path: '/tmp/a.txt', content: 'hello' },
  callerId: 'alice',
  policyVersion: 'p1',
};
const BASE_DIGEST = 'd31b5a9ef1ab7f931e47d15d91821dcff42410fc15a7a65870627790d1bebca6';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('canonicalJson (RFC 8785)', () => {
  it('matches the RFC 8785 section 3.2.2 example', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    expect(canonicalJson(JSON.parse(input))).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('sorts keys by UTF-16 code units, as the RFC 8785 section 3.2.3 example', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    expect(canonicalJson(JSON.parse(input))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes numbers the ECMAScript way: 1.0 is 1, -0 is 0', () => {
    expect(canonicalJson(JSON.parse('[1.0, -0, 1e21, 0.000001, 1e-7, 100, 4.50]'))).toBe(
      '[1,0,1e+21,0.000001,1e-7,100,4.5]',
    );
  });

  it('drops undefined members as JSON does', () => {
    expect(canonicalJson({ b: undefined, a: 1 })).toBe('{"a":1}');
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['a lone surrogate from JSON.parse', JSON.parse('{"path":"\\ud800"}')],
    ['BigInt', { n: 1n }],
    ['undefined', undefined],
    ['a function', () => 1],
  ])('refuses %s with DIGEST_INPUT_INVALID', (_name, value) => {
    let caught: unknown;
    try {
      canonicalJson(value);
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught, 'DIGEST_INPUT_INVALID')).toBe(true);
  });

  it('refuses cycles', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/canonicalise/);
  });
});

describe('toolDefinitionDigest', () => {
  it('is the golden digest of name, description and input schema', () => {
    expect(toolDefinitionDigest(WRITE_FILE)).toBe(WRITE_FILE_DIGEST);
    expect(
      sha256(
        '{"description":"Create or overwrite a file.","inputSchema":{"properties":{"content":{"type":"string"},' +
          '"path":{"type":"string"}},"required":["path","content"],"type":"object"},"name":"write_file"}',
      ),
    ).toBe(WRITE_FILE_DIGEST);
  });

  it('digests an absent description as null', () => {
    const digest = 'd9ebf44ed6e03ec73279c456bc401115110d071fa6ad45c160025241b49053bb';
    expect(toolDefinitionDigest({ name: 'ping', inputSchema: { type: 'object' } })).toBe(digest);
    expect(sha256('{"description":null,"inputSchema":{"type":"object"},"name":"ping"}')).toBe(digest);
    expect(toolDefinitionDigest({ name: 'ping', description: '', inputSchema: { type: 'object' } })).not.toBe(
      digest,
    );
  });

  it('ignores everything but name, description and input schema', () => {
    const decorated = {
      ...WRITE_FILE,
      title: 'Write',
      annotations: { destructiveHint: true },
      _meta: { x: 1 },
    };
    expect(toolDefinitionDigest(decorated)).toBe(WRITE_FILE_DIGEST);
  });

  it('changes with the description or the schema', () => {
    expect(toolDefinitionDigest({ ...WRITE_FILE, description: 'Create or overwrite a file. ' })).not.toBe(
      WRITE_FILE_DIGEST,
    );
    const schema = { ...WRITE_FILE.inputSchema, required: ['path'] };
    expect(toolDefinitionDigest({ ...WRITE_FILE, inputSchema: schema })).not.toBe(WRITE_FILE_DIGEST);
  });
});

describe('invocationDigest', () => {
  it('is the golden digest of the canonical invocation', () => {
    expect(invocationDigest(BASE)).toBe(BASE_DIGEST);
    expect(
      sha256(
        '{"arguments":{"content":"hello","path":"/tmp/a.txt"},"callerId":"alice","policyVersion":"p1",' +
          `"server":"fs","tool":"write_file","toolDefinitionDigest":"${WRITE_FILE_DIGEST}"}`,
      ),
    ).toBe(BASE_DIGEST);
  });

  it('does not depend on key order, at any depth', () => {
    const reordered: Invocation = {
      policyVersion: 'p1',
      callerId: 'alice',
      arguments: { content: 'hello', path: '/tmp/a.txt' },
      toolDefinitionDigest: WRITE_FILE_DIGEST,
      tool: 'write_file',
      server: 'fs',
    };
    expect(invocationDigest(reordered)).toBe(BASE_DIGEST);
    expect(
      invocationDigest({ ...BASE, arguments: JSON.parse('{"content":"hello","path":"/tmp/a.txt"}') }),
    ).toBe(BASE_DIGEST);
  });

  it('ignores fields that are not part of the binding', () => {
    const extra = { ...BASE, exposedName: 'fs__write_file', id: 'r1' } as Invocation;
    expect(invocationDigest(extra)).toBe(BASE_DIGEST);
  });

  it('treats absent arguments as {}', () => {
    const digest = '55dbf0128f79c8a46bbccc02392196496c406a4b80e57db4972ade4c3d6239df';
    expect(invocationDigest({ ...BASE, arguments: undefined })).toBe(digest);
    expect(invocationDigest({ ...BASE, arguments: {} })).toBe(digest);
  });

  it('has golden digests for unicode arguments', () => {
    const args = { path: '/tmp/\u00e9t\u00e9.txt', content: 'caf\u00e9 \u{1F600} \u202Eevil' };
    expect(invocationDigest({ ...BASE, arguments: args })).toBe(
      '94c7c5e93137c6cb62cf6b1a2b198d5ae1f2f2af8e17353445ead84575cb767f',
    );
    // Precomposed and decomposed forms look alike but are different calls: no normalisation.
    expect(invocationDigest({ ...BASE, arguments: { ...args, path: '/tmp/e\u0301te\u0301.txt' } })).not.toBe(
      '94c7c5e93137c6cb62cf6b1a2b198d5ae1f2f2af8e17353445ead84575cb767f',
    );
  });

  it('has golden digests for numbers, where 1.0 and 1 are the same call', () => {
    const digest = 'a362e69cbed06600378e4e2b1467ab7ae80ff63c474cfe21b8b233ab2ae7c666';
    const parsed = JSON.parse('{"n":1.0,"big":1e21,"small":0.000001,"neg":-0,"f":333333333.33333329}');
    expect(invocationDigest({ ...BASE, arguments: parsed })).toBe(digest);
    expect(
      invocationDigest({
        ...BASE,
        arguments: { n: 1, big: 1e21, small: 1e-6, neg: 0, f: 333333333.3333333 },
      }),
    ).toBe(digest);
    expect(invocationDigest({ ...BASE, arguments: { ...parsed, n: '1' } })).not.toBe(digest);
  });

  it('has golden digests for nested arrays, whose order matters', () => {
    const args = {
      matrix: [
        [1, 2],
        [3, [4, { b: 1, a: [] }]],
      ],
      empty: [[]],
    };
    expect(invocationDigest({ ...BASE, arguments: args })).toBe(
      'b1c4bf0d20669ca89efa7e41d23ddb1b3fc460ef1d0e19d2c63a360415bc8e12',
    );
    const swapped = {
      ...args,
      matrix: [
        [2, 1],
        [3, [4, { b: 1, a: [] }]],
      ],
    };
    expect(invocationDigest({ ...BASE, arguments: swapped })).not.toBe(
      'b1c4bf0d20669ca89efa7e41d23ddb1b3fc460ef1d0e19d2c63a360415bc8e12',
    );
  });

  it.each([
    ['server', { server: 'fs2' }],
    ['tool', { tool: 'read_file' }],
    ['tool definition', { toolDefinitionDigest: sha256Canonical('other') }],
    ['argument value', { arguments: { path: '/tmp/a.txt', content: 'hello!' } }],
    ['extra argument', { arguments: { path: '/tmp/a.txt', content: 'hello', mode: 'append' } }],
    ['caller', { callerId: 'bob' }],
    ['policy version', { policyVersion: 'p2' }],
  ])('changes with the %s', (_name, change) => {
    expect(invocationDigest({ ...BASE, ...change })).not.toBe(BASE_DIGEST);
  });

  it('keeps field boundaries: moving text between fields changes the digest', () => {
    expect(invocationDigest({ ...BASE, server: 'fs/write', tool: 'file' })).not.toBe(
      invocationDigest({ ...BASE, server: 'fs', tool: 'write/file' }),
    );
  });
});

describe('canonicalJson against the canonicalize package (the RFC 8785 reference it replaces on the hot path)', () => {
  const unicode = fc.string({ unit: 'binary' });
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { maxDepth: 4 },
      fc.constant(null),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      unicode,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(unicode, tie('value'), { maxKeys: 5 }),
    ),
  })).value;

  it('writes the same text for any JSON value: keys in any script, every number, nesting', () => {
    fc.assert(
      fc.property(json, (value) => {
        let expected: string | undefined;
        try {
          expected = canonicalize(value);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) {
          expect(() => canonicalJson(value)).toThrow(GatehouseError);
        } else {
          expect(canonicalJson(value)).toBe(expected);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses what JCS cannot write, as the package does', () => {
    for (const bad of [NaN, Infinity, -Infinity, '\ud800', { '\udc00': 1 }, [1n]]) {
      expect(() => canonicalize(bad)).toThrow();
      expect(() => canonicalJson(bad)).toThrow(GatehouseError);
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(GatehouseError);
  });

  it('escapes what JSON escapes and sorts keys that arrive out of order, as the package does', () => {
    const value = {
      z: 'plain',
      'a"b': 'tab\there',
      '\u0001': 'quote " and \\',
      é: '\ud83d\ude00',
      b: [2.5, -1e21],
    };
    expect(canonicalJson(value)).toBe(canonicalize(value));
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('keeps -0, undefined members and toJSON as the package does', () => {
    const odd = { b: -0, a: undefined, c: [undefined, 1], d: new Date(0), e: { toJSON: () => 'x' } };
    expect(canonicalJson(odd)).toBe(canonicalize(odd));
  });
});
