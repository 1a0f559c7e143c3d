import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startConnectedHttpGatehouse, type ConnectedHttpGatehouse } from '../helpers/gatehouse.js';

/**
 * Canary secrets planted in a downstream's config (its env) come back in its stderr and stdout, which
 * Gatehouse logs: none may reach Gatehouse's log, and the lines must still be there, redacted.
 */

const CANARY = {
  urlPassword: 'c4nary-url-pw-91',
  bearer: 'c4nary-bearer-0123456789',
  configuredName: 'c4nary-ref-77',
  privateKey: 'c4naryPrivateKeyBody0123456789',
};
const scratch = scratchDir('log-redaction');
let gatehouse: ConnectedHttpGatehouse;

beforeAll(async () => {
  const base = gatehouseConfig({
    leaky: fixtureServer('leaky', {
      env: {
        LEAK_URL: `postgres://app:${CANARY.urlPassword}@db.internal/prod`,
        LEAK_HEADER: `sent Bearer ${CANARY.bearer}`,
        LEAK_REF: `internalRef=${CANARY.configuredName}`,
        LEAK_KEY: `-----BEGIN PRIVATE KEY-----${CANARY.privateKey}-----END PRIVATE KEY-----`,
      },
    }),
  });
  const config = scratch.write('config.json', {
    ...base,
    // A downstream's stderr is logged at debug.
    log: { level: 'debug' },
    audit: { ...base.audit, redact: { names: ['internalRef'] } },
  });
  gatehouse = await startConnectedHttpGatehouse(config);
});
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

describe("a downstream's output in Gatehouse's log", () => {
  it('keeps every canary out of the log and logs the lines redacted', async () => {
    await gatehouse.client.client.callTool({ name: 'leaky__leak', arguments: {} });
    await gatehouse.waitForStderr((line) => line.includes('called with'));
    const log = gatehouse.stderr();
    for (const secret of Object.values(CANARY)) expect(log).not.toContain(secret);
    // The banner, the stray stdout line and the call's line are all there, each redacted.
    for (const what of ['starting with', 'not JSON-RPC', 'called with']) {
      const line = log.split('\n').find((l) => l.includes(what));
      expect(line, what).toContain('postgres://app:[REDACTED:url-password]@db.internal/prod');
      expect(line, what).toContain('Bearer [REDACTED:bearer]');
      expect(line, what).toContain('internalRef=[REDACTED:named-secret]');
      expect(line, what).toContain('[REDACTED:private-key]');
    }
  });
});
