import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePasswordHash } from '../src/approvals/web/auth/password.js';
import { parseConfig } from '../src/config/load.js';
import { GatehouseError } from '../src/errors.js';
import { createHttpAuthenticator } from '../src/identity/index.js';
import { silentLogger } from '../src/log.js';
import { REPO } from './helpers/paths.js';

/**
 * Every row of the README's "Constraints" table, broken on purpose: each is refused as the row says,
 * naming the JSON path. A row without a case here fails, so the table and the schema move together.
 */

const FILE = '/configs/mcp.config.json';
const url = 'https://example.com/mcp';
const bearer = {
  source: { type: 'static', value: 'secret-0123456789' },
  inject: { header: 'Authorization' },
};
type Violation = { config: object; says: string } | { check: () => unknown; says: string };

const refusal = (config: object, env: NodeJS.ProcessEnv = {}): string => {
  try {
    parseConfig(JSON.stringify(config, null, 2), FILE, env);
  } catch (error) {
    if (error instanceof GatehouseError && error.exitCode === 2) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(config)}`);
};
const thrown = (check: () => unknown): string => {
  try {
    check();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
};
const identity = (input: object) => parseConfig(JSON.stringify({ identity: input }), FILE, {}).identity;

const CASES: Record<string, Violation[]> = {
  '`mcpServers.<name>`': [
    { config: { mcpServers: { 'a b': { command: 'x' } } }, says: 'server names are 1-64 characters' },
    {
      config: { mcpServers: { ['x'.repeat(65)]: { command: 'x' } } },
      says: 'server names are 1-64 characters',
    },
    { config: { mcpServers: {}, servers: {} }, says: 'not both' },
  ],
  '`mcpServers.*.command`': [
    { config: { mcpServers: { a: { command: '' } } }, says: '$.mcpServers.a.command' },
  ],
  '`mcpServers.*.url`': [
    { config: { mcpServers: { a: { url: 'ftp://example.com' } } }, says: '$.mcpServers.a.url' },
    {
      config: { identity: { jwt: { issuer: 'i', audience: 'a', jwksUri: 'file:///k' } } },
      says: '$.identity.jwt.jwksUri',
    },
    {
      config: { identity: { jwt: { issuer: 'i', audience: 'a', jwksUri: url, resource: 'mcp' } } },
      says: '$.identity.jwt.resource',
    },
    { config: { approvers: { oidc: { issuer: 'idp', clientId: 'c' } } }, says: '$.approvers.oidc.issuer' },
    { config: { approvals: { publicUrl: 'gatehouse.example' } }, says: '$.approvals.publicUrl' },
    { config: { audit: { otlp: { url: 'collector:4318' } } }, says: '$.audit.otlp.url' },
    { config: { audit: { mirror: { url: 'witness' } } }, says: '$.audit.mirror.url' },
  ],
  '`mcpServers.*.type`': [
    { config: { mcpServers: { a: { url, type: 'websocket' } } }, says: '$.mcpServers.a.type' },
    { config: { mcpServers: { a: { command: 'x', type: 'http' } } }, says: '$.mcpServers.a.type' },
  ],
  '`mcpServers.*.prefix`': [
    {
      config: { mcpServers: { a: { command: 'x', prefix: 'p'.repeat(33) } } },
      says: '$.mcpServers.a.prefix',
    },
  ],
  '`mcpServers.*.credentials.<name>`': [
    {
      config: { mcpServers: { a: { url, credentials: { 'a b': bearer } } } },
      says: 'credential names are 1-64 characters',
    },
  ],
  '`mcpServers.*.credentials.*.inject`': [
    {
      config: { mcpServers: { a: { url, credentials: { t: { ...bearer, inject: { header: 'a b' } } } } } },
      says: 'not an HTTP header name',
    },
    {
      config: { mcpServers: { a: { url, type: 'sse', credentials: { t: bearer } } } },
      says: '$.mcpServers.a.credentials.t.inject',
    },
    {
      config: { mcpServers: { a: { url, credentials: { t: { ...bearer, inject: { env: 'T' } } } } } },
      says: 'an HTTP server takes credentials in a header',
    },
    {
      config: {
        mcpServers: { a: { command: 'x', credentials: { t: { ...bearer, inject: { env: 'T' } } } } },
      },
      says: 'set "startPerCall": true',
    },
    {
      config: { mcpServers: { a: { command: 'x', startPerCall: true, credentials: { t: bearer } } } },
      says: 'a stdio server takes credentials in its environment',
    },
  ],
  '`mcpServers.*.credentials.*.source`': [
    {
      config: { mcpServers: { a: { url, credentials: { t: { ...bearer, source: { type: 'static' } } } } } },
      says: 'exactly one of "value" and "file"',
    },
    {
      config: {
        mcpServers: {
          a: {
            url,
            credentials: {
              t: {
                ...bearer,
                source: { type: 'oauth', tokenUrl: url, clientId: 'c', grant: 'token_exchange' },
              },
            },
          },
        },
      },
      says: 'token_exchange needs a subjectToken',
    },
    {
      config: {
        mcpServers: {
          a: {
            url,
            credentials: {
              t: { ...bearer, source: { type: 'oauth', tokenUrl: url, clientId: 'c', scope: '1' } },
            },
          },
        },
      },
      says: 'scope must be a string or list<string> expression',
    },
  ],
  '`http.port`': [
    { config: { http: { port: 65536 } }, says: '$.http.port' },
    { config: { http: { port: 80.5 } }, says: '$.http.port' },
  ],
  '`identity.tokens[].token`': [
    { config: { identity: { tokens: [{ token: 'short', id: 'a' }] } }, says: 'at least 16 characters' },
    {
      check: () =>
        createHttpAuthenticator(
          identity({
            tokens: [
              { token: 't'.repeat(16), id: 'a' },
              { token: 't'.repeat(16), id: 'b' },
            ],
          }),
          silentLogger,
        ),
      says: 'repeats the token',
    },
  ],
  '`identity.tokens[].id`': [
    {
      config: { identity: { tokens: [{ token: 't'.repeat(16), id: '' }] } },
      says: '$.identity.tokens[0].id',
    },
    {
      config: { identity: { tokens: [{ token: 't'.repeat(16), id: 'a', groups: [''] }] } },
      says: '$.identity.tokens[0].groups[0]',
    },
    {
      config: { approvers: { accounts: [{ id: '', passwordHash: 'h' }] } },
      says: '$.approvers.accounts[0].id',
    },
    { config: { approvers: { directory: [{ id: '' }] } }, says: '$.approvers.directory[0].id' },
  ],
  '`identity.jwt.audience`': [
    {
      config: { identity: { jwt: { issuer: 'i', audience: [], jwksUri: url } } },
      says: '$.identity.jwt.audience',
    },
  ],
  '`identity.jwt.algorithms`': [
    {
      check: () =>
        createHttpAuthenticator(
          identity({ jwt: { issuer: 'i', audience: 'a', jwksUri: url, algorithms: ['HS256'] } }),
          silentLogger,
        ),
      says: 'asymmetric',
    },
  ],
  '`approvers.accounts[].passwordHash`': [
    {
      config: { approvers: { accounts: [{ id: 'a', passwordHash: '' }] } },
      says: '$.approvers.accounts[0].passwordHash',
    },
    { check: () => parsePasswordHash('$scrypt$ln=9,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA'), says: 'ln' },
    { check: () => parsePasswordHash('$scrypt$ln=20,r=32,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA'), says: '1 GiB' },
  ],
  '`approvals.maxWaitSeconds`': [
    { config: { approvals: { maxWaitSeconds: 46 } }, says: '$.approvals.maxWaitSeconds' },
    { config: { approvals: { maxWaitSeconds: 0 } }, says: '$.approvals.maxWaitSeconds' },
  ],
  '`approvals.resultRetentionMs`': [
    { config: { approvals: { resultRetentionMs: -1 } }, says: '$.approvals.resultRetentionMs' },
    { config: { approvals: { archiveAfterMs: -1 } }, says: '$.approvals.archiveAfterMs' },
    { config: { restart: { initialDelayMs: -1 } }, says: '$.restart.initialDelayMs' },
    { config: { audit: { groupCommit: { maxDelayMs: -1 } } }, says: '$.audit.groupCommit.maxDelayMs' },
    {
      config: { audit: { groupCommit: { queuedMaxDelayMs: 1.5 } } },
      says: '$.audit.groupCommit.queuedMaxDelayMs',
    },
  ],
  '`policyReload.settleMs`': [
    { config: { policyReload: { settleMs: 9 } }, says: '$.policyReload.settleMs' },
    { config: { policyReload: { settleMs: 60_001 } }, says: '$.policyReload.settleMs' },
  ],
  '`log.level`': [{ config: { log: { level: 'verbose' } }, says: '$.log.level' }],
  '`log.format`': [{ config: { log: { format: 'yaml' } }, says: '$.log.format' }],
  '`sessions.atCap`': [{ config: { sessions: { atCap: 'queue' } }, says: '$.sessions.atCap' }],
  '`audit.durability`': [{ config: { audit: { durability: 'never' } }, says: '$.audit.durability' }],
  '`audit.origin`': [
    { config: { audit: { origin: '' } }, says: '$.audit.origin' },
    { config: { audit: { redact: { names: [''] } } }, says: '$.audit.redact.names[0]' },
  ],
  '`audit.redact.paths[]`': [
    { config: { audit: { redact: { paths: ['a.b'] } } }, says: '$.audit.redact.paths[0]' },
  ],
  'every other duration, count and size': [
    { config: { timeouts: { callMs: 0 } }, says: '$.timeouts.callMs' },
    { config: { sessions: { maxPerCaller: 1.5 } }, says: '$.sessions.maxPerCaller' },
    { config: { http: { maxBodyBytes: -1 } }, says: '$.http.maxBodyBytes' },
    { config: { policyLimits: { evalDeadlineMs: 0 } }, says: '$.policyLimits.evalDeadlineMs' },
    { config: { approvers: { sessionTtlMs: 0 } }, says: '$.approvers.sessionTtlMs' },
  ],
  '`${VAR}`': [
    { config: { http: { host: '${GATEHOUSE_TEST_UNSET}' } }, says: 'GATEHOUSE_TEST_UNSET is not set' },
  ],
};

/** The first cell of each row of the README's Constraints table. */
function readmeRows(): string[] {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Constraints'), readme.indexOf('### Limits'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| key ') && !line.startsWith('|---'))
    .map((line) => line.slice(2, line.indexOf(' | ')));
}

describe("the README's configuration constraints", () => {
  it('every row has cases here, and every case a row', () => {
    const rows = readmeRows();
    expect(rows.length).toBeGreaterThan(15);
    for (const key of Object.keys(CASES))
      expect(
        rows.some((row) => row.startsWith(key)),
        key,
      ).toBe(true);
    for (const row of rows)
      expect(
        Object.keys(CASES).some((key) => row.startsWith(key)),
        row,
      ).toBe(true);
  });

  it.each(Object.entries(CASES))(
    '%s: each violation is refused, naming what is wrong',
    (_row, violations) => {
      for (const violation of violations) {
        const message = 'config' in violation ? refusal(violation.config) : thrown(violation.check);
        expect(message).toContain(violation.says);
      }
    },
  );
});
