import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../log.js';
import { createSessionTable, type SessionHandle, type SessionLimits } from './httpSessions.js';

const MINUTE = 60_000;
const LIMITS: SessionLimits = { idleTimeoutMs: 30 * MINUTE, maxPerCaller: 3, atCap: 'close-oldest-idle' };

/** A session's transport as the table sees it: busy or idle since a moment, and whether it was closed. */
interface FakeSession extends SessionHandle {
  busy: boolean;
  since: number;
  closed: boolean;
}

function tableOf(limits: Partial<SessionLimits> = {}) {
  const table = createSessionTable<FakeSession>({ ...LIMITS, ...limits }, silentLogger);
  let next = 0;
  const open = (caller: string, busy = false) => {
    const id = `s${next++}`;
    const session: FakeSession = {
      busy,
      since: Date.now(),
      closed: false,
      idleSince: () => (session.busy ? undefined : session.since),
      // As front/http.ts does: the transport's onclose takes the session out of the table.
      close: async () => {
        session.closed = true;
        table.remove(id);
      },
    };
    table.add(id, session, { id: caller, groups: [] });
    return session;
  };
  return { table, open };
}

beforeEach(() => vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') }));
afterEach(() => vi.useRealTimers());

describe('idle expiry', () => {
  it('closes a session idle for the timeout, within half the timeout (at most a minute) after it', () => {
    const { table, open } = tableOf();
    table.start();
    const session = open('alice');
    vi.advanceTimersByTime(30 * MINUTE - 1);
    expect(session.closed).toBe(false);
    vi.advanceTimersByTime(MINUTE);
    expect(session.closed).toBe(true);
    expect(table.size).toBe(0);
    expect(table.counts()).toMatchObject({ byCaller: {}, expired: 1 });
  });

  it('never closes a session while it is busy (a request in flight or its GET stream open)', () => {
    const { table, open } = tableOf();
    table.start();
    const session = open('alice', true);
    vi.advanceTimersByTime(120 * MINUTE);
    expect(session.closed).toBe(false);
    // Idle from the end of its last request: the timeout counts from there.
    session.busy = false;
    session.since = Date.now();
    vi.advanceTimersByTime(29 * MINUTE);
    expect(session.closed).toBe(false);
    vi.advanceTimersByTime(2 * MINUTE);
    expect(session.closed).toBe(true);
  });

  it('stops sweeping once closed, closing what is left', async () => {
    const { table, open } = tableOf();
    table.start();
    const session = open('alice', true);
    await table.closeAll();
    expect(session.closed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the per-caller cap', () => {
  it('below the cap admits, and counts sessions per caller', () => {
    const { table, open } = tableOf();
    open('alice');
    open('alice');
    open('bob');
    expect(table.admit('alice')).toBeUndefined();
    expect(table.counts().byCaller).toEqual({ alice: 2, bob: 1 });
  });

  it('at the cap closes that caller’s longest-idle session to make room, never a busy one or another caller’s', () => {
    const { table, open } = tableOf();
    const bobs = open('bob');
    const busy = open('alice', true);
    vi.advanceTimersByTime(MINUTE);
    const older = open('alice');
    vi.advanceTimersByTime(MINUTE);
    const newer = open('alice');
    expect(table.admit('alice')).toBeUndefined();
    expect([busy.closed, older.closed, newer.closed, bobs.closed]).toEqual([false, true, false, false]);
    expect(table.counts()).toMatchObject({ closedAtCap: 1, refusedAtCap: 0 });
  });

  it('at the cap refuses, naming the limit, when none of the caller’s sessions is idle', () => {
    const { table, open } = tableOf();
    for (let i = 0; i < 3; i++) open('alice', true);
    const refusal = table.admit('alice');
    expect(refusal).toContain('caller "alice" already has 3 open');
    expect(refusal).toContain('sessions.maxPerCaller is 3');
    expect(refusal).toContain('none of them is idle');
    expect(table.counts()).toMatchObject({ closedAtCap: 0, refusedAtCap: 1 });
  });

  it('with atCap "refuse" refuses even when an idle session could go', () => {
    const { table, open } = tableOf({ atCap: 'refuse' });
    const sessions = [open('alice'), open('alice'), open('alice')];
    expect(table.admit('alice')).toContain('sessions.maxPerCaller is 3');
    expect(sessions.some((s) => s.closed)).toBe(false);
    expect(table.admit('bob')).toBeUndefined();
  });
});
