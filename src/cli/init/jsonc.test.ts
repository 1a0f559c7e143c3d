import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../errors.js';
import { editJsonc, parseJsonc } from './jsonc.js';

describe('reading client files', () => {
  it('takes comments and trailing commas (VS Code writes JSONC)', () => {
    expect(parseJsonc('// c\n{ "servers": { /* x */ "a": { "command": "x", }, }, }\n', 'mcp.json')).toEqual({
      servers: { a: { command: 'x' } },
    });
  });

  it('names the file, the line and the column of a fault', () => {
    const text = '{\n  "mcpServers": {\n    "a": { "command": "x" }\n    "b": {}\n  }\n}\n';
    let error: unknown;
    try {
      parseJsonc(text, '/home/u/.cursor/mcp.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('CLIENT_CONFIG_INVALID');
    expect((error as GatehouseError).message).toBe(
      '/home/u/.cursor/mcp.json:4:5: not valid JSON: a comma was expected',
    );
  });

  it('reads an empty file as an empty config', () => {
    expect(parseJsonc('  \n', 'f.json')).toEqual({});
  });
});

describe('editing client files in place', () => {
  const vscode = [
    '// user mcp.json',
    '{',
    '\t"inputs": [], // kept',
    '\t"servers": {',
    '\t\t/* the one to move */',
    '\t\t"fs": { "command": "npx" },',
    '\t\t"keep": { "command": "x" } // stays',
    '\t}',
    '}',
    '',
  ].join('\n');

  it('removes and adds members, keeping comments, order and the file’s indentation', () => {
    const edited = editJsonc(vscode, [
      { path: ['servers', 'fs'], value: undefined },
      { path: ['servers', 'gatehouse'], value: { command: 'node', args: ['serve'] } },
    ]);
    expect(edited).toBe(
      [
        '// user mcp.json',
        '{',
        '\t"inputs": [], // kept',
        '\t"servers": {',
        '\t\t"gatehouse": {',
        '\t\t\t"command": "node",',
        '\t\t\t"args": [',
        '\t\t\t\t"serve"',
        '\t\t\t]',
        '\t\t},',
        '\t\t"keep": { "command": "x" } // stays',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('removes a member with its comments, and the comma before the last one, so plain JSON stays JSON', () => {
    const text =
      '{\n  "mcpServers": {\n    "a": {},\n    // about b\n    "b": { "command": "x" } // b\n  },\n  "n": 1\n}\n';
    const edited = editJsonc(text, [{ path: ['mcpServers', 'b'], value: undefined }]);
    expect(edited).toBe('{\n  "mcpServers": {\n    "a": {}\n  },\n  "n": 1\n}\n');
    expect(JSON.parse(edited)).toEqual({ mcpServers: { a: {} }, n: 1 });
    const inline = editJsonc('{"mcpServers":{"a":1,"b":2,"c":3}}', [
      { path: ['mcpServers', 'b'], value: undefined },
    ]);
    expect(JSON.parse(inline)).toEqual({ mcpServers: { a: 1, c: 3 } });
  });

  it('creates the block a file lacks, and writes into an empty file', () => {
    expect(
      parseJsonc(editJsonc('{\n    "theme": "dark"\n}\n', [{ path: ['mcpServers', 'g'], value: {} }]), 'f'),
    ).toEqual({
      theme: 'dark',
      mcpServers: { g: {} },
    });
    expect(parseJsonc(editJsonc('', [{ path: ['mcpServers', 'g'], value: { a: 1 } }]), 'f')).toEqual({
      mcpServers: { g: { a: 1 } },
    });
  });
});
