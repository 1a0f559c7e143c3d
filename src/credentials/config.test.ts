import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { compilePolicySet } from '../decision/compile.js';
import { evaluateCall } from '../decision/evaluate.js';
import { PolicyLimitsSchema } from '../decision/options.js';
import { runPolicyTestFile } from '../decision/policyTests.js';
import { GatehouseError } from '../errors.js';

/** Credentials in the config are checked when it loads, templates type-checked like policies. */

const http = (credentials: object, extra: object = {}) => ({
  url: 'http://127.0.0.1:9/mcp',
  credentials,
  ...extra,
});
const stdio = (credentials: object, extra: object = {}) => ({ command: 'node', credentials, ...extra });
const bearer = {
  source: { type: 'static', value: 'static-secret-0123' },
  inject: { header: 'Authorization' },
};
const inEnv = { source: { type: 'static', value: 'static-secret-0123' }, inject: { env: 'API_TOKEN' } };

function load(server: object): GatehouseError | undefined {
  try {
    parseConfig(JSON.stringify({ mcpServers: { api: server } }, null, 2), '/tmp/gatehouse.json');
    return undefined;
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
}

describe('credentials in the config', () => {
  it('loads headers for HTTP servers and variables for stdio servers started per call', () => {
    expect(load(http({ api: bearer }))).toBeUndefined();
    expect(load(stdio({ api: inEnv }, { startPerCall: true }))).toBeUndefined();
  });

  it.each([
    [stdio({ api: bearer }, { startPerCall: true }), 'a stdio server takes credentials in its environment'],
    [http({ api: inEnv }), 'an HTTP server takes credentials in a header'],
    [stdio({ api: inEnv }), 'set "startPerCall": true if this server is safe to start per call'],
    [
      http({ api: bearer }, { type: 'sse' }),
      'the legacy SSE transport cannot send a header on one request only',
    ],
    [
      http({ api: { ...bearer, source: { type: 'static', value: 'x-0123456', file: './f' } } }),
      'exactly one of "value" and "file"',
    ],
    [
      http({
        api: {
          source: {
            type: 'oauth',
            tokenUrl: 'http://127.0.0.1:9/token',
            clientId: 'g',
            grant: 'token_exchange',
          },
          inject: { header: 'Authorization' },
        },
      }),
      'token_exchange needs a subjectToken',
    ],
    [
      http({
        api: {
          source: { type: 'oauth', tokenUrl: 'http://127.0.0.1:9/token', clientId: 'g', scope: 'args.n > 1' },
          inject: { header: 'Authorization' },
        },
      }),
      'scope must be a string or list<string> expression; this one is bool',
    ],
    [
      http({
        api: {
          source: {
            type: 'vault',
            address: 'http://127.0.0.1:9',
            token: 't',
            field: 'password',
            path: "'a' + nope",
          },
          inject: { header: 'X-Password' },
        },
      }),
      'undeclared variable "nope"',
    ],
  ])('refuses %#: %s', (server, message) => {
    const error = load(server);
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.message).toContain(message);
    // Where: the file, line and column, and the JSON path.
    expect(error?.message).toMatch(/\/tmp\/gatehouse\.json:\d+:\d+/);
    expect(error?.message).toContain('$.mcpServers.api');
  });
});

describe('credentials in policy rules', () => {
  const compile = (rule: string, credentials?: Set<string>) =>
    compilePolicySet([{ file: 'p.yaml', text: `rules:\n${rule}` }], {
      limits: PolicyLimitsSchema.parse({}),
      ...(credentials ? { credentials } : {}),
    });

  it('a rule names credentials some server defines; decisions carry them', () => {
    const compiled = compile('  - id: r\n    effect: allow\n    credentials: [api, api]\n', new Set(['api']));
    expect(compiled.ok && compiled.set.rules[0]!.credentials).toEqual(['api']);
  });

  it('a decision carries the credentials of the rules that decided it, and no others', () => {
    const compiled = compile(
      [
        '  - id: read',
        '    effect: allow',
        '    credentials: [reader]',
        '  - id: delete',
        '    match: { tools: delete }',
        '    effect: approve',
        '    approvers: [bob]',
        '    credentials: [deleter]',
        '',
      ].join('\n'),
      new Set(['reader', 'deleter']),
    );
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems));
    const decide = (tool: string) =>
      evaluateCall(
        compiled.set,
        {
          requestId: 'r',
          server: 'api',
          tool,
          exposedName: `api__${tool}`,
          arguments: {},
          caller: { id: 'alice', groups: [], transport: 'http' },
          definition: { name: tool, inputSchema: { type: 'object' } },
        },
        new Date(),
      ).decision;
    expect(decide('list')).toMatchObject({ effect: 'allow', credentials: ['reader'] });
    expect(decide('delete')).toMatchObject({ effect: 'approve', credentials: ['deleter'] });
  });

  it('a name no server defines fails the load, with where', () => {
    const compiled = compile('  - id: r\n    effect: allow\n    credentials: [nope]\n', new Set(['api']));
    expect(compiled.ok).toBe(false);
    expect(!compiled.ok && compiled.problems[0]).toMatchObject({
      line: 4,
      message: expect.stringContaining('no server defines a credential "nope" (servers define: api)'),
    });
  });

  it('a deny rule takes no credentials', () => {
    const compiled = compile('  - id: r\n    effect: deny\n    credentials: [api]\n', new Set(['api']));
    expect(!compiled.ok && compiled.problems[0]?.message).toContain(
      'credentials only apply to effect allow or approve',
    );
  });
});

describe('policy test cases', () => {
  it('check the credentials a call would be given', () => {
    const policies = [
      {
        file: 'p.yaml',
        text: 'rules:\n  - id: r\n    effect: allow\n    credentials: [reader]\n',
      },
    ];
    const run = (credentials: string) =>
      runPolicyTestFile(
        policies,
        't.yaml',
        `cases:\n  - name: c\n    call: { server: api, tool: read }\n    expect: { effect: allow, credentials: ${credentials} }\n`,
        PolicyLimitsSchema.parse({}),
      ).cases[0]!.failures;
    expect(run('[reader]')).toEqual([]);
    expect(run('[]')).toEqual(['credentials: expected none, got reader']);
    expect(run('[writer]')).toEqual(['credentials: expected writer, got reader']);
  });
});
