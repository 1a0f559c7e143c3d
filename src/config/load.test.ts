import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors.js';
import { formatJsonPath, listenerUrl, loadConfig, loadListenerAddress, parseConfig } from './load.js';

const FILE = '/configs/mcp.json';

/** The GatehouseError a config text is refused with. */
function refusal(text: string, env: NodeJS.ProcessEnv = {}): GatehouseError {
  try {
    parseConfig(text, FILE, env);
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('the config was accepted');
}

const lines = (...rows: string[]) => rows.join('\n');

describe('${VAR} expansion', () => {
  const config = (value: string) =>
    JSON.stringify({
      mcpServers: { api: { url: 'https://example.com/mcp', headers: { Authorization: value } } },
    });
  const header = (value: string, env: NodeJS.ProcessEnv) =>
    (parseConfig(config(value), FILE, env).servers.api as { headers: Record<string, string> }).headers
      .Authorization;

  it('takes ${VAR} from the environment, anywhere in a string', () => {
    expect(header('Bearer ${TOKEN}', { TOKEN: 's3cret' })).toBe('Bearer s3cret');
    expect(header('${A}-${B}', { A: '1', B: '2' })).toBe('1-2');
  });

  it('uses the default of ${VAR:-default} when the variable is unset or empty, the variable otherwise', () => {
    expect(header('${TOKEN:-anonymous}', {})).toBe('anonymous');
    expect(header('${TOKEN:-anonymous}', { TOKEN: '' })).toBe('anonymous');
    expect(header('${TOKEN:-}', {})).toBe('');
    expect(header('${TOKEN:-anonymous}', { TOKEN: 'set' })).toBe('set');
  });

  it('refuses an unset variable, naming it, its JSON path and where its key is', () => {
    const error = refusal(
      lines(
        '{',
        '  "mcpServers": {',
        '    "api": { "url": "https://example.com/mcp",',
        '      "headers": { "Authorization": "Bearer ${TOKEN}" } }',
        '  }',
        '}',
      ),
    );
    expect(error.code).toBe('CONFIG_ENV_MISSING');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `${FILE}:4:20: $.mcpServers.api.headers.Authorization: environment variable TOKEN is not set`,
    );
  });

  it('reports every unset variable at once', () => {
    const error = refusal(JSON.stringify({ mcpServers: { a: { command: '${CMD}', args: ['${ARG}'] } } }));
    expect(error.message.split('\n')).toEqual([
      expect.stringContaining('$.mcpServers.a.command: environment variable CMD is not set'),
      expect.stringContaining('$.mcpServers.a.args[0]: environment variable ARG is not set'),
    ]);
  });

  it('leaves keys and non-string values alone', () => {
    const config = parseConfig(JSON.stringify({ mcpServers: {}, vars: { '${KEY}': 1, n: 5 } }), FILE, {});
    expect(config.vars).toEqual({ '${KEY}': 1, n: 5 });
  });
});

describe('the servers block', () => {
  it('accepts "servers", the VS Code name, as an alias of "mcpServers"', () => {
    const config = parseConfig(
      JSON.stringify({ servers: { fs: { type: 'stdio', command: 'node' } } }),
      FILE,
      {},
    );
    expect(Object.keys(config.servers)).toEqual(['fs']);
  });

  it('refuses both keys at once', () => {
    const error = refusal(lines('{', '  "mcpServers": {},', '  "servers": {}', '}'));
    expect(error.message).toBe(
      `${FILE}:3:3: $.servers: use either "mcpServers" or its alias "servers", not both`,
    );
  });

  it('accepts the pasted shapes of Claude Desktop, Claude Code, Cursor and VS Code', () => {
    const config = parseConfig(
      JSON.stringify({
        mcpServers: {
          desktop: { command: 'npx', args: ['-y', 'server'], env: { KEY: 'v' } },
          code: { type: 'stdio', command: 'node', args: [] },
          remote: { type: 'http', url: 'https://example.com/mcp', headers: { 'X-Key': 'k' } },
          legacy: { type: 'sse', url: 'http://localhost:3001/sse' },
          cursor: { url: 'https://example.com/mcp' },
        },
      }),
      FILE,
      {},
    );
    expect(Object.keys(config.servers)).toEqual(['desktop', 'code', 'remote', 'legacy', 'cursor']);
  });

  it('explains an invalid server name', () => {
    const error = refusal(JSON.stringify({ mcpServers: { 'my server': { command: 'node' } } }));
    expect(error.message).toContain('$.mcpServers["my server"]');
    expect(error.message).toContain('invalid key: server names are 1-64 characters of A-Z a-z 0-9 _ . -');
  });
});

describe('messages name the file, the line and column, and the JSON path', () => {
  it('for a value of the wrong type', () => {
    const error = refusal(
      lines('{', '  "mcpServers": {', '    "fs": { "command": "node", "args": "x" }', '  }', '}'),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^\/configs\/mcp\.json:3:\d+: \$\.mcpServers\.fs\.args: .*expected array/);
  });

  it('for an unknown key, pointing at the key', () => {
    const error = refusal(
      lines('{', '  "mcpServers": {', '    "fs": { "command": "node", "argz": [] }', '  }', '}'),
    );
    expect(error.message).toBe(`${FILE}:3:32: $.mcpServers.fs.argz: unknown key "argz"`);
  });

  it('for an unknown top-level key', () => {
    expect(refusal('{ "mcpServers": {}, "listen": 1 }').message).toBe(
      `${FILE}:1:21: $.listen: unknown key "listen"`,
    );
  });

  it('for every problem at once', () => {
    const error = refusal(
      JSON.stringify({ mcpServers: { a: { command: 1 }, b: { url: 'x' } }, log: { level: 'loud' } }),
    );
    expect(error.message.split('\n')).toHaveLength(3);
  });

  it('for text that is not JSON', () => {
    const error = refusal(lines('{', '  "mcpServers": {', '    "fs": { "command": "node", }', '  }', '}'));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/^\/configs\/mcp\.json:3:\d+: not valid JSON/);
  });
});

describe('a server entry is checked against the shape it evidently is', () => {
  it('with "url": as an HTTP server', () => {
    const error = refusal(JSON.stringify({ mcpServers: { api: { url: 'ftp://example.com' } } }));
    expect(error.message).toContain('$.mcpServers.api.url: url must be an http(s) URL');
    expect(error.message).not.toContain('command');
  });

  it('with "url" and "command": "command" is the stray key of an HTTP server', () => {
    const error = refusal(
      JSON.stringify({ mcpServers: { api: { url: 'https://example.com', command: 'node' } } }),
    );
    expect(error.message).toContain('$.mcpServers.api.command: unknown key "command"');
  });

  it('without "url": as a stdio server', () => {
    const error = refusal(JSON.stringify({ mcpServers: { fs: { command: 'node', headers: {} } } }));
    expect(error.message).toContain('$.mcpServers.fs.headers: unknown key "headers"');
    expect(error.message).not.toContain('url');
  });

  it('not an object at all', () => {
    const error = refusal(JSON.stringify({ mcpServers: { fs: 'npx server' } }));
    expect(error.message).toContain(
      '$.mcpServers.fs: expected an object with "command" (stdio) or "url" (HTTP)',
    );
  });
});

describe('defaults, paths and freezing', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-load-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves relative paths against the config file, keeps absolute ones', () => {
    const file = path.join(dir, 'mcp.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          rel: { command: 'node', cwd: 'servers/rel' },
          none: { command: 'node' },
          abs: { command: 'node', cwd: '/opt/x' },
        },
        log: { file: 'logs/gatehouse.log' },
        policies: 'my-policies',
      }),
    );
    const config = loadConfig(path.relative(process.cwd(), file), {});
    expect(config.file).toBe(file);
    expect(config.servers.rel).toMatchObject({ cwd: path.join(dir, 'servers/rel') });
    expect(config.servers.none).toMatchObject({ cwd: dir });
    expect(config.servers.abs).toMatchObject({ cwd: '/opt/x' });
    expect(config.log.file).toBe(path.join(dir, 'logs/gatehouse.log'));
    expect(config.policies).toBe(path.join(dir, 'my-policies'));
  });

  it('fills defaults: loopback listener, timeouts, empty args and env', () => {
    const config = parseConfig(JSON.stringify({ mcpServers: { fs: { command: 'node' } } }), FILE, {});
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8787 });
    expect(config.timeouts).toEqual({ callMs: 120_000, connectMs: 30_000, discoverMs: 1500 });
    expect(config.servers.fs).toMatchObject({ args: [], env: {} });
    expect(config.policies).toBe('/configs/policies');
  });

  it('freezes the result', () => {
    const config = parseConfig(
      JSON.stringify({ mcpServers: { fs: { command: 'node', args: ['a'] } } }),
      FILE,
      {},
    );
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.servers.fs)).toBe(true);
    expect(Object.isFrozen((config.servers.fs as { args: string[] }).args)).toBe(true);
  });

  it('names a file that does not exist', () => {
    const missing = path.join(dir, 'nope.json');
    expect(() => loadConfig(missing)).toThrow(`${missing}: cannot read the config file (no such file)`);
  });
});

describe('envFile: variables from a .env-style file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-envfile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const crm = (envFile: string) =>
    lines(
      '{',
      `  "envFile": ${JSON.stringify(envFile)},`,
      '  "mcpServers": {',
      '    "crm": { "url": "https://crm.example/mcp", "headers": { "Authorization": "Bearer ${CRM_TOKEN}" } }',
      '  }',
      '}',
    );
  const authorization = (file: string, env: NodeJS.ProcessEnv = {}) =>
    (loadConfig(file, env).servers.crm as { headers: Record<string, string> }).headers.Authorization;

  it('expands ${VAR} from the file, named relative to the config, without putting it in the environment', () => {
    writeFileSync(
      path.join(dir, 'secrets.env'),
      "# moved here by gatehouse init\nCRM_TOKEN='t0k3n with # and spaces'\n",
    );
    const file = path.join(dir, 'mcp.config.json');
    writeFileSync(file, crm('./secrets.env'));
    expect(authorization(file)).toBe('Bearer t0k3n with # and spaces');
    expect(loadConfig(file, {}).envFile).toBe(path.join(dir, 'secrets.env'));
    expect(process.env.CRM_TOKEN).toBeUndefined();
  });

  it('lets a variable set in the environment win over the file, an empty one not', () => {
    const file = path.join(dir, 'mcp.config.json');
    expect(authorization(file, { CRM_TOKEN: 'from-the-environment' })).toBe('Bearer from-the-environment');
    expect(authorization(file, { CRM_TOKEN: '' })).toBe('Bearer t0k3n with # and spaces');
  });

  it('refuses a file it cannot read, naming it and where the config names it', () => {
    const file = path.join(dir, 'missing.json');
    writeFileSync(file, crm('nope.env'));
    expect(() => loadConfig(file, {})).toThrow(
      `${file}:2:3: $.envFile: cannot read the env file ${path.join(dir, 'nope.env')} (no such file)`,
    );
  });
});

describe('formatJsonPath', () => {
  it.each([
    [[], '$'],
    [['mcpServers', 'fs', 'args', 0], '$.mcpServers.fs.args[0]'],
    [['mcpServers', 'my server'], '$.mcpServers["my server"]'],
    [['servers', 'a.b'], '$.servers["a.b"]'],
  ])('%j → %s', (p, expected) => {
    expect(formatJsonPath(p)).toBe(expected);
  });
});

describe('loadListenerAddress: what status and approvals need of a config', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-listener-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, config: object) => {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(config, null, 2));
    return file;
  };
  const serverSecrets = {
    mcpServers: {
      api: { url: 'https://example.com/mcp', headers: { Authorization: 'Bearer ${API_TOKEN}' } },
    },
    approvers: { oidc: { issuer: '${OIDC_ISSUER}', clientId: 'gatehouse', clientSecret: '${OIDC_SECRET}' } },
  };

  it('needs none of the server-side ${VAR}s that loading the whole config needs', () => {
    const file = write('secrets.json', {
      ...serverSecrets,
      http: { host: '${GATEHOUSE_HOST:-127.0.0.1}', port: 9100 },
      approvals: { publicUrl: 'https://${PUBLIC_HOST}/gatehouse' },
    });
    expect(() => loadConfig(file, {})).toThrow(/API_TOKEN is not set/);
    const address = loadListenerAddress(file, { PUBLIC_HOST: 'approvals.example' });
    expect(address.publicUrl).toBe('https://approvals.example/gatehouse');
    expect(listenerUrl(address.http)).toBe('http://127.0.0.1:9100');
  });

  it('still refuses an unset variable where it needs one, naming it and its JSON path', () => {
    const file = write('unset.json', { ...serverSecrets, http: { host: '${GATEHOUSE_HOST}' } });
    expect(() => loadListenerAddress(file, {})).toThrow(
      `${file}:18:5: $.http.host: environment variable GATEHOUSE_HOST is not set`,
    );
  });

  it('defaults the listener as the server does, and reaches a wildcard bind address on loopback', () => {
    expect(listenerUrl(loadListenerAddress(write('empty.json', {}), {}).http)).toBe('http://127.0.0.1:8787');
    expect(listenerUrl({ ...loadConfig(write('any.json', { http: { host: '0.0.0.0' } }), {}).http })).toBe(
      'http://127.0.0.1:8787',
    );
    expect(listenerUrl({ host: '::1', port: 1, allowedHosts: [], allowedOrigins: [], maxBodyBytes: 1 })).toBe(
      'http://[::1]:1',
    );
  });
});
