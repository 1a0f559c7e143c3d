import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors.js';
import { silentLogger } from '../log.js';
import { createRedactor } from '../redact/index.js';
import { createEventBus, redactEvents, type Published } from './bus.js';
import type { AuditEvent } from './events.js';
import type { AuditTrail } from './trail.js';

const stopped: AuditEvent = { event: 'gatehouse.stopped', version: '1', pid: 1, reason: 'Bearer abc' };

/** A trail that records into `log`, or fails every append while `failing` is set. */
function fakeTrail() {
  const log: AuditEvent[] = [];
  const state = { failing: false };
  const trail = {
    record: async (event: AuditEvent) => {
      if (state.failing) throw new GatehouseError('AUDIT_LOG_UNAVAILABLE', 'disk full');
      log.push(event);
      return { seq: log.length - 1, leafHash: '0'.repeat(64), time: 't', line: '{}' };
    },
    recordQueued: (event: AuditEvent) => {
      if (state.failing) return false;
      log.push(event);
      return true;
    },
  } as unknown as AuditTrail;
  return { trail, log, state };
}

describe('the event bus', () => {
  it('records, then notifies, with what the trail assigned', async () => {
    const { trail, log } = fakeTrail();
    const bus = createEventBus(trail, silentLogger);
    const seen: Published[] = [];
    bus.subscribe((p) => seen.push(p));
    await bus.publish(stopped);
    expect(log).toEqual([stopped]);
    expect(seen).toEqual([{ event: stopped, appended: expect.objectContaining({ seq: 0 }) }]);
  });

  it('fails closed: a record that cannot be written throws, naming the event, and nobody is told', async () => {
    const { trail, state } = fakeTrail();
    state.failing = true;
    const bus = createEventBus(trail, silentLogger);
    const seen: Published[] = [];
    bus.subscribe((p) => seen.push(p));
    await expect(bus.publish(stopped)).rejects.toMatchObject({
      code: 'AUDIT_LOG_UNAVAILABLE',
      message: 'the audit trail cannot record gatehouse.stopped (disk full)',
    });
    expect(seen).toEqual([]);
  });

  it('queues on the hot path while the trail is healthy, and waits for the record when it is not', async () => {
    const { trail, log, state } = fakeTrail();
    const bus = createEventBus(trail, silentLogger);
    await bus.publishQueued(stopped);
    expect(log).toHaveLength(1);
    state.failing = true;
    await expect(bus.publishQueued(stopped)).rejects.toMatchObject({ code: 'AUDIT_LOG_UNAVAILABLE' });
  });

  it('redacts every event before it is recorded or delivered', async () => {
    const { trail, log } = fakeTrail();
    const redact = (e: AuditEvent) =>
      JSON.parse(JSON.stringify(e).replace('Bearer abc', '[REDACTED]')) as AuditEvent;
    const bus = createEventBus(trail, silentLogger, redact);
    const seen: Published[] = [];
    bus.subscribe((p) => seen.push(p));
    await bus.publish(stopped);
    expect(JSON.stringify([log, seen])).not.toContain('Bearer abc');
  });

  it('keeps a failing subscriber from the others', async () => {
    const { trail } = fakeTrail();
    const bus = createEventBus(trail, silentLogger);
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe((p) => seen.push(p.event.event));
    await bus.publish(stopped);
    expect(seen).toEqual(['gatehouse.stopped']);
  });

  it('scans events built from outside text for secrets, and leaves those built redacted as they are', () => {
    const scan = redactEvents(createRedactor({ names: [], paths: [], detect: true }));
    const fields = {
      callId: 'c',
      caller: { id: 'alice', groups: [], transport: 'stdio' as const },
      server: 'fs',
      tool: 't',
      exposedName: 'fs__t',
      rules: [],
      policyVersion: 'p',
      argumentsDigest: `hmac-sha256:${'0'.repeat(64)}`,
    };
    const failed: AuditEvent = {
      event: 'call.failed',
      ...fields,
      reachedServer: true,
      error: { code: 'MCP_-32603', message: 'cannot connect to postgres://app:hunter2-secret@db/prod' },
    };
    expect(JSON.stringify(scan(failed))).not.toContain('hunter2-secret');
    const executed: AuditEvent = {
      event: 'call.executed',
      ...fields,
      isError: false,
      resultDigest: `sha256:${'1'.repeat(64)}`,
    };
    expect(scan(executed)).toBe(executed);
  });
});
