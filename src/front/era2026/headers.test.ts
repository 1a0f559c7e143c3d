import { describe, expect, it } from 'vitest';
import { decodeHeaderValue } from '../../shared/mcpHeaders.js';
import { headerMismatch, versionMismatch } from './headers.js';

const base = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'run' };
const b64 = (text: string) => `=?base64?${Buffer.from(text).toString('base64')}?=`;

describe('decodeHeaderValue', () => {
  it('reads plain values as they are and the Base64 sentinel decoded', () => {
    expect(decodeHeaderValue('us-west1')).toBe('us-west1');
    expect(decodeHeaderValue(b64('Hello, 世界'))).toBe('Hello, 世界');
    expect(decodeHeaderValue(b64('=?base64?literal?='))).toBe('=?base64?literal?=');
  });
  it('refuses control characters outside the sentinel', () => {
    expect(decodeHeaderValue('line1\nline2')).toBeUndefined();
  });
});

describe('versionMismatch', () => {
  it('names a version header that contradicts the body, whatever versions they are', () => {
    expect(versionMismatch(base, '2099-01-01')).toBe(
      "MCP-Protocol-Version header value '2026-07-28' does not match body value '2099-01-01'",
    );
    expect(versionMismatch(base, '2026-07-28')).toBeUndefined();
  });
  it('leaves a missing header or a missing claim to the checks that name those', () => {
    expect(versionMismatch({}, '2026-07-28')).toBeUndefined();
    expect(versionMismatch(base, undefined)).toBeUndefined();
  });
});

describe('headerMismatch', () => {
  const call = (args: Record<string, unknown>, inputSchema?: unknown) => ({
    method: 'tools/call',
    params: { name: 'run', arguments: args },
    protocolVersion: '2026-07-28',
    ...(inputSchema ? { inputSchema } : {}),
  });

  it('passes headers that say what the body says', () => {
    expect(headerMismatch(base, call({}))).toBeUndefined();
    expect(headerMismatch({ ...base, 'mcp-name': b64('run') }, call({}))).toBeUndefined();
  });

  it.each([
    [{ 'mcp-protocol-version': undefined }, 'MCP-Protocol-Version header is required'],
    [{ 'mcp-protocol-version': '2025-11-25' }, "'2025-11-25' does not match body value '2026-07-28'"],
    [{ 'mcp-method': undefined }, 'Mcp-Method header is required'],
    [{ 'mcp-method': 'tools/list' }, "Mcp-Method header value 'tools/list'"],
    [{ 'mcp-name': undefined }, 'Mcp-Name header is required for tools/call'],
    [{ 'mcp-name': 'other' }, "Mcp-Name header value 'other' does not match body value 'run'"],
    [{ 'mcp-name': 'bad\u0001' }, 'characters a header value may not carry'],
  ])('refuses %o: %s', (change, says) => {
    const headers: Record<string, string | undefined> = { ...base, ...change };
    expect(headerMismatch(headers, call({}))).toContain(says);
  });

  it('checks the task id of tasks/* when the client names it, and does not require it', () => {
    const get = { method: 'tasks/get', params: { taskId: 't1' }, protocolVersion: '2026-07-28' };
    const headers = { ...base, 'mcp-method': 'tasks/get' };
    expect(headerMismatch({ ...headers, 'mcp-name': undefined }, get)).toBeUndefined();
    expect(headerMismatch({ ...headers, 'mcp-name': 't1' }, get)).toBeUndefined();
    expect(headerMismatch({ ...headers, 'mcp-name': 't2' }, get)).toContain("'t2' does not match");
  });

  describe('Mcp-Param-* for parameters the tool mirrors', () => {
    const schema = {
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        count: { type: 'integer', 'x-mcp-header': 'Count' },
        dry: { type: 'boolean', 'x-mcp-header': 'Dry' },
      },
    };
    it('requires the header when the argument is set, and compares numbers as numbers', () => {
      const args = { region: 'us-west1', count: 42, dry: false };
      const headers = {
        ...base,
        'mcp-param-region': 'us-west1',
        'mcp-param-count': '42.0',
        'mcp-param-dry': 'false',
      };
      expect(headerMismatch(headers, call(args, schema))).toBeUndefined();
      expect(headerMismatch({ ...headers, 'mcp-param-region': undefined }, call(args, schema))).toContain(
        'Mcp-Param-Region header is required',
      );
      expect(headerMismatch({ ...headers, 'mcp-param-count': '41' }, call(args, schema))).toContain(
        "Mcp-Param-Count header value '41' does not match arguments.count",
      );
      expect(headerMismatch({ ...headers, 'mcp-param-dry': 'False' }, call(args, schema))).toContain(
        'Mcp-Param-Dry',
      );
    });
    it('expects no header for an argument that is absent or null', () => {
      expect(headerMismatch(base, call({ region: null }, schema))).toBeUndefined();
    });
    it('decodes a Base64 parameter before comparing', () => {
      const headers = { ...base, 'mcp-param-region': b64('Zürich') };
      expect(headerMismatch(headers, call({ region: 'Zürich' }, schema))).toBeUndefined();
    });
    it('compares an integer numerically only when the header writes it in decimal', () => {
      const headers = { ...base, 'mcp-param-count': '4.2e1' };
      expect(headerMismatch(headers, call({ count: 42 }, schema))).toContain(
        "Mcp-Param-Count header value '4.2e1' does not match arguments.count",
      );
    });
    it('expects no header for an argument with no header form, and refuses one sent for it', () => {
      // What the v2 SDK client sends for an object where the schema says string: nothing.
      expect(headerMismatch(base, call({ region: { zone: 'a' } }, schema))).toBeUndefined();
      expect(headerMismatch(base, call({ count: 2 ** 60 }, schema))).toBeUndefined();
      const sent = { ...base, 'mcp-param-region': 'us-west1' };
      expect(headerMismatch(sent, call({}, schema))).toContain(
        'Mcp-Param-Region header is sent, but arguments.region has no value a header mirrors (absent)',
      );
    });
    it('refuses a Base64 sentinel that is not canonical', () => {
      const headers = { ...base, 'mcp-param-region': '=?base64?SGVsbG8?=' };
      expect(headerMismatch(headers, call({ region: 'Hello' }, schema))).toContain('not canonical Base64');
    });
  });

  describe('a tool whose x-mcp-header declarations are invalid', () => {
    const invalid = (properties: Record<string, unknown>) => ({ type: 'object', properties });
    it.each([
      ['a name that is no token', { region: { type: 'string', 'x-mcp-header': 'My Region' } }],
      [
        'an object-typed property',
        {
          data: { type: 'object', 'x-mcp-header': 'Data' },
          region: { type: 'string', 'x-mcp-header': 'Region' },
        },
      ],
      [
        'names equal ignoring case',
        { a: { type: 'string', 'x-mcp-header': 'Zone' }, region: { type: 'string', 'x-mcp-header': 'zone' } },
      ],
    ])('with %s: no header is required, as none is sent for it', (_case, properties) => {
      const args = { region: 'us', data: { x: 1 }, a: 'b' };
      expect(headerMismatch(base, call(args, invalid(properties)))).toBeUndefined();
    });
    it('refuses a header sent for it anyway', () => {
      const schema = invalid({
        data: { type: 'object', 'x-mcp-header': 'Data' },
        region: { type: 'string', 'x-mcp-header': 'Region' },
      });
      const headers = { ...base, 'mcp-param-region': 'us' };
      expect(headerMismatch(headers, call({ region: 'us' }, schema))).toContain(
        "the Mcp-Param-Region header is sent, but the tool's x-mcp-header declarations are invalid",
      );
    });
  });
});
