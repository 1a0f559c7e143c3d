import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTokenEndpoint } from '../../test/fixtures/servers/oauth-token-endpoint.js';
import { startVaultStandIn } from '../../test/fixtures/servers/vault-stand-in.js';
import { refusal } from '../../test/store/helpers.js';
import type { ServerConfig } from '../config/schema.js';
import { PolicyLimitsSchema } from '../decision/options.js';
import { silentLogger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import { scrubCredentials } from '../redact/known.js';
import { createCredentialBroker } from './broker.js';
import type { CredentialConfig } from './config.js';

/** The lifecycle against real issuers on loopback: a Vault stand-in and OAuth token endpoints. */

const VAULT_TOKEN = 'vault-token-broker-unit-0123';
let vault: Awaited<ReturnType<typeof startVaultStandIn>>;
let overGranting: Awaited<ReturnType<typeof startTokenEndpoint>>;
let exact: Awaited<ReturnType<typeof startTokenEndpoint>>;

beforeAll(async () => {
  vault = await startVaultStandIn(VAULT_TOKEN);
  overGranting = await startTokenEndpoint({ grantMore: 'admin' });
  exact = await startTokenEndpoint();
});
afterAll(async () => {
  await Promise.all([vault?.close(), overGranting?.close(), exact?.close()]);
});

const clientCredentials = (tokenUrl: string): CredentialConfig =>
  ({
    source: {
      type: 'oauth',
      grant: 'client_credentials',
      tokenUrl,
      clientId: 'gate house',
      clientSecret: 's3cret:with/odd=chars',
      subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      scope: "['items:read:' + args.id, 'items:list']",
    },
    inject: header,
  }) as CredentialConfig;

const call = (args: Record<string, unknown> = {}): ToolCall => ({
  requestId: 'call-1',
  server: 'api',
  tool: 'query',
  exposedName: 'api__query',
  arguments: args,
  caller: { id: 'alice', groups: ['dev'], transport: 'http' },
  definition: { name: 'query', inputSchema: { type: 'object' } },
});

const header = { header: 'Authorization', prefix: '' };

function brokerWith(credentials: Record<string, unknown>, mintTimeoutMs = 10_000) {
  const servers = {
    api: { url: 'http://127.0.0.1:1/mcp', headers: {}, credentials } as unknown as ServerConfig,
  };
  return createCredentialBroker({
    servers,
    settings: { mintTimeoutMs, revokeTimeoutMs: 5_000 },
    configDir: '/',
    vars: {},
    limits: PolicyLimitsSchema.parse({}),
    logger: silentLogger,
  });
}

const vaultCredential = (role: string, inject: object = header): CredentialConfig =>
  ({
    source: {
      type: 'vault',
      address: vault.url,
      token: VAULT_TOKEN,
      path: `'database/creds/${role}'`,
      field: 'password',
    },
    inject,
  }) as CredentialConfig;

const command = (script: string): CredentialConfig =>
  ({
    source: { type: 'command', command: process.execPath, args: ['-e', script], env: {} },
    inject: header,
  }) as CredentialConfig;

describe('minting, delivering and releasing a call’s credentials', () => {
  it('a Vault lease: read for the call, in its header, revoked once on release', async () => {
    const broker = brokerWith({ db: vaultCredential('readonly') });
    const grant = await broker.mint({ server: 'api', names: ['db'], call: call() });
    const lease = vault.leases.at(-1)!;
    expect(grant.headers).toEqual({ authorization: lease.password });
    expect(grant.uses).toEqual([
      { name: 'db', source: 'vault', leaseId: lease.leaseId, scopeDigest: expect.stringMatching(/^sha256:/) },
    ]);
    // Known to the scrubber from the moment it was minted.
    expect(scrubCredentials(`pw=${lease.password}`).text).toBe('pw=[REDACTED:credential]');
    await Promise.all([grant.release(), grant.release()]);
    expect(vault.revoked.filter((id) => id === lease.leaseId)).toHaveLength(1);
    expect(grant.uses[0]!.revoked).toBe(true);
  });

  it('one credential failing revokes the others and refuses the call', async () => {
    const broker = brokerWith({
      db: vaultCredential('readonly'),
      broken: vaultCredential('broken', { env: 'X', prefix: '' }),
    });
    const before = vault.leases.length;
    const error = await refusal(broker.mint({ server: 'api', names: ['db', 'broken'], call: call() }));
    expect(error.code).toBe('CREDENTIAL_UNAVAILABLE');
    expect(error.message).toContain('"broken"');
    expect(error.message).toContain('HTTP 403: 1 error occurred');
    expect(vault.leases).toHaveLength(before + 1);
    expect(vault.revoked).toContain(vault.leases.at(-1)!.leaseId);
  });

  it('a source that hangs is ended at the mint timeout', async () => {
    const broker = brokerWith({ slow: command('setTimeout(() => {}, 60_000)') }, 200);
    const error = await refusal(broker.mint({ server: 'api', names: ['slow'], call: call() }));
    expect(error.message).toMatch(/did not finish in time|took longer than 200 ms/);
  });

  it('a command that fails, or prints nothing, gives no credential', async () => {
    const broker = brokerWith({ exits: command('process.exit(3)'), silent: command('') });
    expect((await refusal(broker.mint({ server: 'api', names: ['exits'], call: call() }))).message).toContain(
      'exited with code 3',
    );
    expect(
      (await refusal(broker.mint({ server: 'api', names: ['silent'], call: call() }))).message,
    ).toContain('printed no credential');
  });

  it('a command’s JSON answer names its lease', async () => {
    const broker = brokerWith({
      cli: command('process.stdout.write(JSON.stringify({ value: "cli-token-0123456789", leaseId: "L-1" }))'),
    });
    const grant = await broker.mint({ server: 'api', names: ['cli'], call: call() });
    expect(grant.headers.authorization).toBe('cli-token-0123456789');
    expect(grant.uses).toEqual([{ name: 'cli', source: 'command', leaseId: 'L-1' }]);
  });

  it('client credentials: the client authenticates with Basic and asks for the rendered scope', async () => {
    const broker = brokerWith({ token: clientCredentials(`${exact.url}/token`) });
    const grant = await broker.mint({ server: 'api', names: ['token'], call: call({ id: '9' }) });
    expect(exact.tokenRequests).toEqual([
      {
        form: { grant_type: 'client_credentials', scope: 'items:read:9 items:list' },
        // RFC 6749 2.3.1: form-encoded, then Basic.
        authorization: `Basic ${Buffer.from('gate+house:s3cret%3Awith%2Fodd%3Dchars').toString('base64')}`,
      },
    ]);
    expect(grant.headers.authorization).toBe(exact.issued[0]);
    // No revocation endpoint: discarded, not revoked.
    await grant.release();
    expect(grant.uses[0]!.revoked).toBeUndefined();
  });

  it('a token broader than the scope asked for is refused, never used', async () => {
    const broker = brokerWith({ token: clientCredentials(`${overGranting.url}/token`) });
    const error = await refusal(broker.mint({ server: 'api', names: ['token'], call: call({ id: '9' }) }));
    expect(error.message).toContain(
      'granted scope "items:read:9 items:list admin", broader than the "items:read:9 items:list" asked for',
    );
  });

  it('a scope that cannot be rendered from the arguments refuses the call', async () => {
    const broker = brokerWith({ db: vaultCredential('readonly') });
    const templated = brokerWith({
      db: {
        ...vaultCredential('x'),
        source: { ...vaultCredential('x').source, path: "'database/creds/' + args.role" },
      },
    });
    expect(broker.defined('api')).toEqual(new Set(['db']));
    const error = await refusal(templated.mint({ server: 'api', names: ['db'], call: call({}) }));
    expect(error.message).toContain('path failed to render');
  });

  it('a Vault path rendered from the arguments cannot climb out of its prefix', async () => {
    const templated = brokerWith({
      db: {
        ...vaultCredential('x'),
        source: { ...vaultCredential('x').source, path: "'database/creds/' + args.role" },
      },
    });
    const before = vault.leases.length;
    for (const role of ['../../sys/leases/lookup', 'readonly?list=true', 'readonly%2F..', '']) {
      const error = await refusal(templated.mint({ server: 'api', names: ['db'], call: call({ role }) }));
      expect(error.code).toBe('CREDENTIAL_UNAVAILABLE');
      expect(error.message).toContain('its Vault path');
    }
    expect(vault.leases).toHaveLength(before);
  });

  it('two credentials for one header, or a name the server does not define, refuse the call', async () => {
    const broker = brokerWith({ a: vaultCredential('readonly'), b: vaultCredential('reporting') });
    expect(
      (await refusal(broker.mint({ server: 'api', names: ['a', 'b'], call: call() }))).message,
    ).toContain('both go in the header authorization');
    expect((await refusal(broker.mint({ server: 'api', names: ['c'], call: call() }))).message).toContain(
      'defines no credential "c"',
    );
  });
});
