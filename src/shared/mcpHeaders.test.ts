import { describe, expect, it } from 'vitest';
import {
  decodeHeaderValue,
  encodeHeaderValue,
  headerText,
  paramHeaders,
  paramMismatch,
  scanHeaders,
  scanHeadersOnce,
} from './mcpHeaders.js';

const b64 = (text: string) => `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;
const property = (type: string | undefined, header: unknown) => ({
  ...(type ? { type } : {}),
  'x-mcp-header': header,
});

describe('encodeHeaderValue', () => {
  it('keeps plain visible ASCII, interior spaces and tabs included (as the v2 SDK does)', () => {
    expect(encodeHeaderValue('us-west1')).toBe('us-west1');
    expect(encodeHeaderValue('eu west 1')).toBe('eu west 1');
    expect(encodeHeaderValue('tab\there')).toBe('tab\there');
  });

  it('Base64-encodes what a header cannot carry as it is, and what would read as a sentinel', () => {
    for (const value of [
      'Zürich',
      ' padded',
      'padded ',
      '',
      'line1\nline2',
      '\tlead',
      '=?base64?abc?=',
      '=?base64?=',
    ]) {
      expect(encodeHeaderValue(value)).toBe(b64(value));
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    }
  });

  it("gives the spec's encoding examples", () => {
    expect(encodeHeaderValue('Hello, 世界')).toBe('=?base64?SGVsbG8sIOS4lueVjA==?=');
    expect(encodeHeaderValue(' padded ')).toBe('=?base64?IHBhZGRlZCA=?=');
    expect(encodeHeaderValue('=?base64?literal?=')).toBe('=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=');
  });
});

describe('decodeHeaderValue', () => {
  it('refuses a sentinel that is not canonical Base64 (padding, alphabet) or not UTF-8', () => {
    expect(decodeHeaderValue('=?base64?SGVsbG8=?=')).toBe('Hello');
    expect(decodeHeaderValue('=?base64?SGVsbG8?=')).toBeUndefined();
    expect(decodeHeaderValue('=?base64?SGVs!!!bG8=?=')).toBeUndefined();
    expect(decodeHeaderValue(`=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`)).toBeUndefined();
  });
  it('reads a value without the prefix or the suffix as it is', () => {
    expect(decodeHeaderValue('SGVsbG8=')).toBe('SGVsbG8=');
    expect(decodeHeaderValue('=?base64?SGVsbG8=')).toBe('=?base64?SGVsbG8=');
  });
});

describe('headerText', () => {
  it('converts primitives as the spec says, and refuses what has no header form', () => {
    expect(headerText('x')).toBe('x');
    expect(headerText(42)).toBe('42');
    expect(headerText(1.5)).toBe('1.5');
    expect(headerText(false)).toBe('false');
    expect(headerText(Number.NaN)).toBeUndefined();
    expect(headerText(2 ** 60)).toBeUndefined();
    expect(headerText({ a: 1 })).toBeUndefined();
    expect(headerText(null)).toBeUndefined();
  });
});

describe('scanHeaders', () => {
  it('finds the annotations at their property paths, nested ones too', () => {
    const scan = scanHeaders({
      type: 'object',
      properties: {
        region: property('string', 'Region'),
        query: { type: 'string' },
        target: { type: 'object', properties: { zone: property('integer', 'Zone') } },
      },
    });
    expect(scan).toEqual({
      params: [
        { header: 'Region', path: ['region'], type: 'string' },
        { header: 'Zone', path: ['target', 'zone'], type: 'integer' },
      ],
    });
  });

  // The conformance suite's http-invalid-tool-headers tools, and the reachability rule.
  it.each([
    ['an empty name', { value: property('string', '') }, 'must be a non-empty string'],
    ['a name that is no string', { value: property('string', 7) }, 'must be a non-empty string'],
    ['an object property', { data: property('object', 'Data') }, 'not object'],
    ['an array property', { items: property('array', 'Items') }, 'not array'],
    ['a null property', { nil: property('null', 'Nil') }, 'not null'],
    ['a property without a type', { any: property(undefined, 'Any') }, 'not one without a type'],
    [
      'a space in the name',
      { value: property('string', 'My Region') },
      "'My Region' is not an RFC 9110 token",
    ],
    ['a colon in the name', { value: property('string', 'Region:Primary') }, 'is not an RFC 9110 token'],
    ['a non-ASCII name', { value: property('string', 'Région') }, 'is not an RFC 9110 token'],
    ['a control character', { value: property('string', 'Region\t1') }, 'is not an RFC 9110 token'],
    [
      'the same name twice',
      { a: property('string', 'Region'), b: property('string', 'Region') },
      "'Region' is not unique ignoring case (also declared as 'Region')",
    ],
    [
      'names equal ignoring case',
      { a: property('string', 'MyField'), b: property('string', 'myfield') },
      "'myfield' is not unique ignoring case (also declared as 'MyField')",
    ],
    [
      'an annotation under items',
      { list: { type: 'array', items: property('string', 'Item') } },
      'list.<items>: x-mcp-header is only permitted on a property reached from the root',
    ],
    [
      'an annotation under anyOf',
      { one: { anyOf: [property('string', 'One')] } },
      'one.<anyOf>: x-mcp-header is only permitted',
    ],
  ])('finds %s invalid, saying why', (_case, properties, says) => {
    const scan = scanHeaders({ type: 'object', properties });
    expect(scan.params).toEqual([]);
    expect(scan.invalid).toContain(says);
  });

  it('finds an annotation on the root, or in $defs, invalid', () => {
    expect(scanHeaders({ type: 'string', 'x-mcp-header': 'Root' }).invalid).toContain(
      'the inputSchema itself',
    );
    expect(scanHeaders({ $defs: { id: property('string', 'Id') } }).invalid).toContain('<$defs>');
  });

  it('keeps the annotations of a definition faulty only by a number type (the v2 SDK server checks them)', () => {
    const scan = scanHeaders({
      properties: { score: property('number', 'Score'), r: property('string', 'R') },
    });
    expect(scan.invalid).toContain('score: x-mcp-header is only permitted on a string, integer or boolean');
    expect(scan.params.map((p) => p.header)).toEqual(['Score', 'R']);
  });

  it('lists the names an invalid definition uses, to refuse them when sent', () => {
    const scan = scanHeaders({
      properties: { region: property('string', 'Region'), data: property('object', 'Data') },
    });
    expect(scan.annotated).toEqual(['Region', 'Data']);
  });

  it('scans one inputSchema object once', () => {
    const schema = { properties: { region: property('string', 'Region') } };
    expect(scanHeadersOnce(schema)).toBe(scanHeadersOnce(schema));
  });
});

describe('paramHeaders', () => {
  const scan = scanHeaders({
    type: 'object',
    properties: {
      region: property('string', 'Region'),
      dryRun: property('boolean', 'Dry-Run'),
      nested: { type: 'object', properties: { id: property('integer', 'Id') } },
    },
  });

  it('builds one lower-cased header per mirrored argument that has a header form', () => {
    expect(paramHeaders(scan, { region: 'Köln', dryRun: true, nested: { id: 7 } })).toEqual({
      'mcp-param-region': b64('Köln'),
      'mcp-param-dry-run': 'true',
      'mcp-param-id': '7',
    });
    expect(paramHeaders(scan, { region: null })).toEqual({});
    expect(paramHeaders(scan, undefined)).toEqual({});
  });

  it('sends none for an object-valued argument, as the v2 SDK client does', () => {
    expect(paramHeaders(scan, { region: { not: 'a string' }, dryRun: false })).toEqual({
      'mcp-param-dry-run': 'false',
    });
  });

  it('sends none for a tool whose definition is invalid', () => {
    const invalid = scanHeaders({
      properties: { a: property('string', 'not a token'), b: property('string', 'B') },
    });
    expect(paramHeaders(invalid, { a: 'x', b: 'y' })).toEqual({});
    const numbered = scanHeaders({ properties: { score: property('number', 'Score') } });
    expect(paramHeaders(numbered, { score: 1.5 })).toEqual({});
  });
});

describe('paramMismatch', () => {
  const scan = scanHeaders({
    properties: {
      region: property('string', 'Region'),
      count: property('integer', 'Count'),
      dry: property('boolean', 'Dry'),
    },
  });
  const check = (args: unknown, headers: Record<string, string>, against = scan) =>
    paramMismatch(against, args, (name) => headers[name]);

  it('passes exactly the headers paramHeaders sends, for every argument shape', () => {
    for (const args of [
      { region: 'Zürich', count: 42, dry: false },
      { region: ' padded ', count: -7 },
      { region: { nested: 'object' }, count: 2 ** 60, dry: null },
      {},
      undefined,
    ]) {
      expect(check(args, paramHeaders(scan, args))).toBeUndefined();
    }
  });

  it('requires the header of an argument that has a header form', () => {
    expect(check({ region: 'us' }, {})).toBe(
      'the Mcp-Param-Region header is required: arguments.region is set',
    );
  });

  it('compares integers as numbers only in decimal, as the v2 SDK server does', () => {
    expect(check({ count: 42 }, { 'mcp-param-count': '42.0' })).toBeUndefined();
    expect(check({ count: 42 }, { 'mcp-param-count': '4.2e1' })).toContain(
      "Mcp-Param-Count header value '4.2e1' does not match arguments.count",
    );
    expect(check({ count: 42 }, { 'mcp-param-count': '0x2a' })).toContain('does not match');
    expect(check({ dry: false }, { 'mcp-param-dry': 'False' })).toContain('Mcp-Param-Dry');
  });

  it('refuses a sentinel that is not canonical Base64', () => {
    expect(check({ region: 'Hello' }, { 'mcp-param-region': '=?base64?SGVsbG8?=' })).toContain(
      'not canonical Base64',
    );
  });

  it('refuses a header no conforming client sends: for an absent, null or object-valued argument', () => {
    expect(check({}, { 'mcp-param-region': 'us' })).toBe(
      'the Mcp-Param-Region header is sent, but arguments.region has no value a header mirrors (absent)',
    );
    expect(check({ region: null }, { 'mcp-param-region': 'us' })).toContain('(null)');
    expect(check({ region: { a: 1 } }, { 'mcp-param-region': '[object Object]' })).toContain('({"a":1})');
  });

  it('requires no header for a tool whose definition is invalid, and refuses one sent for it', () => {
    const invalid = scanHeaders({
      properties: { region: property('string', 'Region'), data: property('object', 'Data') },
    });
    expect(check({ region: 'us', data: {} }, {}, invalid)).toBeUndefined();
    expect(check({ region: 'us' }, { 'mcp-param-region': 'us' }, invalid)).toBe(
      "the Mcp-Param-Region header is sent, but the tool's x-mcp-header declarations are invalid (data: x-mcp-header is only permitted on a string, integer or boolean property, not object), so no argument is mirrored into it",
    );
    const badName = scanHeaders({ properties: { value: property('string', 'My Region') } });
    expect(check({ value: 'x' }, {}, badName)).toBeUndefined();
  });

  it('checks the annotations of a definition faulty only by a number type, as the v2 SDK server does', () => {
    const numbered = scanHeaders({ properties: { score: property('number', 'Score') } });
    expect(check({ score: 1.5 }, {}, numbered)).toContain('Mcp-Param-Score header is required');
    expect(check({ score: 1.5 }, { 'mcp-param-score': '1.50' }, numbered)).toBeUndefined();
  });
});
