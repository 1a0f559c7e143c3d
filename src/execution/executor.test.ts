import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { createEventBus } from '../audit/bus.js';
import type { AuditEvent } from '../audit/events.js';
import type { AuditTrail } from '../audit/trail.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { GatehouseError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { CredentialBroker, Grant } from '../credentials/broker.js';
import type { ForwardOptions } from '../downstream/connection.js';
import { forgetAllCredentials, rememberCredential } from '../redact/known.js';
import { createExecutor, type Invocation } from './executor.js';

/** A pool of one server, `fs`, whose tools/call does what `answer` says; and what reached it. */
function poolWith(answer: (headers?: Record<string, string>) => Promise<unknown>, state = 'ready') {
  const sent: unknown[] = [];
  const connection = {
    state,
    request: async (request: { params: unknown }, _schema: unknown, forward: ForwardOptions) => {
      sent.push(request.params);
      return answer(forward.headers);
    },
  };
  return { pool: { get: () => connection } as unknown as DownstreamPool, sent };
}

function trailFor(log: AuditEvent[], fails: (e: AuditEvent) => boolean = () => false) {
  return {
    record: async (event: AuditEvent) => {
      if (fails(event)) throw new GatehouseError('AUDIT_LOG_UNAVAILABLE', 'disk full');
      log.push(event);
      return { seq: log.length - 1, leafHash: 'h', time: 't', line: 'l' };
    },
    recordQueued: (event: AuditEvent) => {
      if (fails(event)) return false;
      log.push(event);
      return true;
    },
  } as unknown as AuditTrail;
}

const invocation = (approval?: Invocation['approval']): Invocation => ({
  call: {
    requestId: 'call-1',
    server: 'fs',
    tool: 'write_file',
    exposedName: 'fs__write_file',
    arguments: { path: '/x' },
    caller: { id: 'alice', groups: ['dev'], transport: 'stdio' },
    definition: { name: 'write_file', inputSchema: { type: 'object' } },
  },
  params: { name: 'write_file', arguments: { path: '/x' }, extra: 'as sent' } as Invocation['params'],
  rules: ['writes'],
  policyVersion: 'p1',
  argumentsDigest: `hmac-sha256:${'a'.repeat(64)}`,
  ...(approval ? { approval } : {}),
  forward: { sessionId: 's' },
});

describe('the one execution path', () => {
  it('records before and after, and sends the params as given', async () => {
    const log: AuditEvent[] = [];
    const { pool, sent } = poolWith(async () => ({ content: [{ type: 'text', text: 'ok' }], extra: 1 }));
    const executor = createExecutor({
      pool,
      events: createEventBus(trailFor(log), silentLogger),
      logger: silentLogger,
    });
    const outcome = await executor.execute(invocation());
    expect(outcome).toMatchObject({ ok: true, result: { extra: 1 } });
    expect(sent).toEqual([{ name: 'write_file', arguments: { path: '/x' }, extra: 'as sent' }]);
    expect(log.map((e) => e.event)).toEqual(['call.executing', 'call.executed']);
    expect(log[1]).toMatchObject({
      callId: 'call-1',
      rules: ['writes'],
      isError: false,
      resultDigest: expect.stringMatching(/^sha256:/),
    });
  });

  it('does not run a call whose record before cannot be written', async () => {
    const log: AuditEvent[] = [];
    const { pool, sent } = poolWith(async () => ({ content: [] }));
    const events = createEventBus(
      trailFor(log, (e) => e.event === 'call.executing'),
      silentLogger,
    );
    const outcome = await createExecutor({ pool, events, logger: silentLogger }).execute(invocation());
    expect(outcome).toMatchObject({ ok: false, code: 'AUDIT_LOG_UNAVAILABLE', reachedServer: false });
    expect(sent).toEqual([]);
  });

  it('records a failure, with whether it reached the server', async () => {
    const log: AuditEvent[] = [];
    const events = createEventBus(trailFor(log), silentLogger);
    const down = poolWith(async () => ({}), 'restarting');
    expect(
      await createExecutor({ pool: down.pool, events, logger: silentLogger }).execute(invocation()),
    ).toMatchObject({
      ok: false,
      code: 'DOWNSTREAM_UNAVAILABLE',
      reachedServer: false,
    });
    const refused = poolWith(async () => {
      throw new McpError(-32602, 'bad arguments');
    });
    expect(
      await createExecutor({ pool: refused.pool, events, logger: silentLogger }).execute(invocation()),
    ).toMatchObject({
      ok: false,
      code: 'MCP_-32602',
      reachedServer: true,
    });
    expect(log.filter((e) => e.event === 'call.failed')).toMatchObject([
      { reachedServer: false, error: { code: 'DOWNSTREAM_UNAVAILABLE' } },
      { reachedServer: true, error: { code: 'MCP_-32602' } },
    ]);
  });

  it('names the approval and its approvers on an approved call, and hands back the record after', async () => {
    const log: AuditEvent[] = [];
    const { pool } = poolWith(async () => ({ content: [] }));
    const approvals = [
      { approver: { id: 'bob', groups: [] }, verdict: 'approve' as const, at: 't', channel: 'web' },
    ];
    const outcome = await createExecutor({
      pool,
      events: createEventBus(trailFor(log), silentLogger),
      logger: silentLogger,
    }).execute(invocation({ id: 'ap-1', approvals }));
    expect(outcome).toMatchObject({ ok: true, afterRecord: { seq: 1 } });
    expect(log[0]).toMatchObject({ event: 'call.executing', approvalId: 'ap-1', approvals });
  });
});

/** A broker whose mint is `mint`; records when it ran (after which record) and each release. */
function brokerFor(log: AuditEvent[], mint: () => Promise<Grant>) {
  const seen = { mintedAfter: [] as string[][], released: 0 };
  const broker: Pick<CredentialBroker, 'mint'> = {
    mint: async () => {
      seen.mintedAfter.push(log.map((e) => e.event));
      const grant = await mint();
      const release = grant.release;
      return Object.assign(grant, {
        release: async () => {
          seen.released += 1;
          await release();
        },
      });
    },
  };
  return { broker, seen };
}

const TOKEN = 'tok-executor-unit-0123456789';

function grantOf(headers: Record<string, string>): Grant {
  const known = rememberCredential(TOKEN);
  return {
    headers,
    env: {},
    uses: [{ name: 'api', source: 'static' }],
    scrubbed: () => known.hits(),
    release: async () => undefined,
  };
}

describe('credentials on the one execution path', () => {
  const withCredentials = (approval?: Invocation['approval']) => ({
    ...invocation(approval),
    credentials: ['api'],
  });

  it('mints after the record before, sends the headers on that request, scrubs the result, releases, records the use', async () => {
    forgetAllCredentials();
    const log: AuditEvent[] = [];
    const { pool } = poolWith(async (headers) => ({
      content: [{ type: 'text', text: `got ${headers?.authorization}` }],
    }));
    const { broker, seen } = brokerFor(log, async () => grantOf({ authorization: `Bearer ${TOKEN}` }));
    const executor = createExecutor({
      pool,
      events: createEventBus(trailFor(log), silentLogger),
      logger: silentLogger,
      credentials: broker,
    });
    const outcome = await executor.execute(withCredentials());
    expect(seen.mintedAfter).toEqual([['call.executing']]);
    expect(outcome).toMatchObject({
      ok: true,
      result: { content: [{ text: 'got Bearer [REDACTED:credential]' }] },
    });
    expect(seen.released).toBe(1);
    expect(log[1]).toMatchObject({
      event: 'call.executed',
      credentialsUsed: [{ name: 'api', source: 'static' }],
      credentialsScrubbed: 1,
    });
  });

  it('mints nothing for a call whose record before cannot be written', async () => {
    const log: AuditEvent[] = [];
    const { pool, sent } = poolWith(async () => ({ content: [] }));
    const { broker, seen } = brokerFor(log, async () => grantOf({}));
    const events = createEventBus(
      trailFor(log, (e) => e.event === 'call.executing'),
      silentLogger,
    );
    const outcome = await createExecutor({ pool, events, logger: silentLogger, credentials: broker }).execute(
      withCredentials(),
    );
    expect(outcome).toMatchObject({ ok: false, code: 'AUDIT_LOG_UNAVAILABLE' });
    expect(seen.mintedAfter).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('a mint that fails fails the call closed: never sent, recorded with the credentials it was to get', async () => {
    const log: AuditEvent[] = [];
    const { pool, sent } = poolWith(async () => ({ content: [] }));
    const { broker } = brokerFor(log, async () => {
      throw new GatehouseError('CREDENTIAL_UNAVAILABLE', 'the credential "api" could not be minted: no', {
        uses: [{ name: 'api', source: 'vault' }],
      });
    });
    const outcome = await createExecutor({
      pool,
      events: createEventBus(trailFor(log), silentLogger),
      logger: silentLogger,
      credentials: broker,
    }).execute(withCredentials({ id: 'ap-1', approvals: [] }));
    expect(outcome).toMatchObject({ ok: false, code: 'CREDENTIAL_UNAVAILABLE', reachedServer: false });
    expect(sent).toEqual([]);
    expect(log.at(-1)).toMatchObject({
      event: 'call.failed',
      reachedServer: false,
      error: { code: 'CREDENTIAL_UNAVAILABLE' },
      credentialsUsed: [{ name: 'api', source: 'vault' }],
    });
  });

  it('releases after a failed call too, and scrubs the error it returns', async () => {
    forgetAllCredentials();
    const log: AuditEvent[] = [];
    const { pool } = poolWith(async (headers) => {
      throw new McpError(-32603, `refused ${headers?.authorization}`);
    });
    const { broker, seen } = brokerFor(log, async () => grantOf({ authorization: TOKEN }));
    const outcome = await createExecutor({
      pool,
      events: createEventBus(trailFor(log), silentLogger),
      logger: silentLogger,
      credentials: broker,
    }).execute(withCredentials());
    expect(outcome).toMatchObject({ ok: false, reachedServer: true });
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
    expect((outcome as { error: Error }).error.message).toContain('[REDACTED:credential]');
    expect(seen.released).toBe(1);
    expect(log.at(-1)).toMatchObject({ event: 'call.failed', credentialsScrubbed: 1 });
  });

  it('a rule that gives credentials with no broker configured fails closed', async () => {
    const log: AuditEvent[] = [];
    const { pool, sent } = poolWith(async () => ({ content: [] }));
    const outcome = await createExecutor({
      pool,
      events: createEventBus(trailFor(log), silentLogger),
      logger: silentLogger,
    }).execute(withCredentials());
    expect(outcome).toMatchObject({ ok: false, code: 'CREDENTIAL_UNAVAILABLE', reachedServer: false });
    expect(sent).toEqual([]);
  });
});
