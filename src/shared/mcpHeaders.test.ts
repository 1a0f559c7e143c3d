import { describe, expect, it } from 'vitest';
import {
  decodeHeaderValue,
  encodeHeaderValue,
  headerText,
  mirroredParams,
  paramHeaders,
} from './mcpHeaders.js';

const b64 = (text: string) => `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;

describe('encodeHeaderValue', () => {
  it('keeps plain visible ASCII, interior spaces included', () => {
    expect(encodeHeaderValue('us-west1')).toBe('us-west1');
    expect(encodeHeaderValue('eu west 1')).toBe('eu west 1');
  });

  it('Base64-encodes what a header cannot carry as it is, and what would read as a sentinel', () => {
    for (const value of ['Zürich', ' padded', 'padded ', '', 'line1\nline2', 'tab\there', '=?base64?abc?=']) {
      expect(encodeHeaderValue(value)).toBe(b64(value));
      expect(decodeHeaderValue(encodeHeaderValue(value))).toBe(value);
    }
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

describe('paramHeaders', () => {
  it('builds one lower-cased header per mirrored argument that is set', () => {
    const params = mirroredParams({
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        dryRun: { type: 'boolean', 'x-mcp-header': 'Dry-Run' },
        nested: { type: 'object', properties: { id: { type: 'integer', 'x-mcp-header': 'Id' } } },
      },
    });
    expect(paramHeaders(params, { region: 'Köln', dryRun: true, nested: { id: 7 } })).toEqual({
      'mcp-param-region': b64('Köln'),
      'mcp-param-dry-run': 'true',
      'mcp-param-id': '7',
    });
    expect(paramHeaders(params, { region: null })).toEqual({});
    // No header can be named 'not a token': the definition is invalid, and nothing is sent for it.
    const invalid = mirroredParams({ properties: { a: { type: 'string', 'x-mcp-header': 'not a token' } } });
    expect(paramHeaders(invalid, { a: 'x' })).toEqual({});
    expect(paramHeaders(params, undefined)).toEqual({});
  });
});
