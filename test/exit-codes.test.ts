import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatehouseConfig, scratchDir } from './helpers/config.js';
import { runGatehouseCli } from './helpers/gatehouse.js';
import { freePort } from './helpers/processes.js';

/**
 * One meaning per exit code (README, Command line): 2 when what the person gave is unusable (config,
 * policy set, command line), 1 when something fails while running (a busy port, a refused or absent
 * Gatehouse). The commands that only talk to a running Gatehouse need only its address from the config.
 */

const scratch = scratchDir('exit-codes');
let busy: Server;
/** Held by another process (this one) for the whole file. */
let port: number;
/** Where nothing listens. */
let closed: number;

beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  port = (busy.address() as { port: number }).port;
  closed = await freePort();
});
afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  scratch.remove();
});

const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at /m);

describe('exit 1: a runtime failure', () => {
  it('serve --http on a port another process holds', async () => {
    const config = scratch.write('busy.json', gatehouseConfig({}, { http: { port } }));
    const { code, stderr } = await runGatehouseCli(['serve', '--http', '--config', config]);
    expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
    expect(code).toBe(1);
    noStackTrace(stderr);
  });
});

describe('exit 2: an unusable command line', () => {
  it('an unknown option, and a port that is no port', async () => {
    const unknown = await runGatehouseCli(['serve', '--no-such-option']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--no-such-option'");
    const notAPort = await runGatehouseCli(['serve', '--http', '--port', 'eighty']);
    expect(notAPort.code).toBe(2);
    expect(notAPort.stderr).toContain('--port: "eighty" is not a port number');
  });
});

describe('status and approvals need only the address of the running Gatehouse', () => {
  // Every ${VAR} here but the listener's is the server's business, and none is set where the CLI runs.
  const withSecrets = () =>
    scratch.write('secrets.json', {
      mcpServers: {
        crm: {
          url: 'https://crm.example/mcp',
          headers: { Authorization: 'Bearer ${GATEHOUSE_TEST_UNSET_CRM}' },
        },
      },
      approvers: {
        oidc: { issuer: 'https://idp.example', clientId: 'g', clientSecret: '${GATEHOUSE_TEST_UNSET_OIDC}' },
      },
      http: { host: '127.0.0.1', port: closed },
    });

  it('status reaches the listener the config names (nothing answers there: exit 1, not a config error)', async () => {
    const { code, stderr } = await runGatehouseCli(['status', '--config', withSecrets()]);
    expect(stderr).not.toContain('is not set');
    expect(stderr).toContain(`no Gatehouse answering at http://127.0.0.1:${closed}`);
    expect(code).toBe(1);
  });

  it('approvals list reaches the same address', async () => {
    const { code, stderr } = await runGatehouseCli(['approvals', 'list', '--config', withSecrets()], {
      GATEHOUSE_APPROVER_TOKEN: 'token-of-an-approver',
    });
    expect(stderr).not.toContain('is not set');
    expect(stderr).toContain(`no Gatehouse answering at http://127.0.0.1:${closed}`);
    expect(code).toBe(1);
  });

  it('an unset variable in the listener itself is still refused with exit 2, naming it', async () => {
    const config = scratch.write('unset-host.json', { http: { host: '${GATEHOUSE_TEST_UNSET_HOST}' } });
    const { code, stderr } = await runGatehouseCli(['status', '--config', config]);
    expect(stderr).toContain('$.http.host: environment variable GATEHOUSE_TEST_UNSET_HOST is not set');
    expect(code).toBe(2);
  });
});
