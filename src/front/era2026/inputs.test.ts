import { afterEach, describe, expect, it, vi } from 'vitest';
import { createInputBridge, requestDigest } from './inputs.js';

const CAPS = { sampling: {}, elicitation: {} };
const notify = () => undefined;
const ELICIT = {
  method: 'elicitation/create',
  params: { message: 'name?', requestedSchema: { type: 'object' } },
};

/** A bridge and one call under way whose "server" asks the client once, then answers with what it got. */
function oneQuestion(holdMs = 60_000) {
  const bridge = createInputBridge({ holdMs });
  const digest = requestDigest('tools/call', { name: 't', arguments: { a: 1 } });
  let aborted: unknown;
  const first = bridge.start(
    'req-1',
    { callerId: 'alice', digest: () => digest, capabilities: CAPS, notify },
    new AbortController().signal,
    async (signal) => {
      signal.addEventListener('abort', () => (aborted = signal.reason));
      const answer = await bridge.ask('req-1', ELICIT);
      return { content: [{ type: 'text', text: JSON.stringify(answer) }] };
    },
  );
  return { bridge, digest, first, aborted: () => aborted };
}

afterEach(() => vi.useRealTimers());

describe('the input bridge (MRTR for a legacy server’s requests)', () => {
  it('answers with the server’s request and a sealed state, then the retry with the result', async () => {
    const { bridge, digest, first } = oneQuestion();
    const asked = await first;
    expect(asked.resultType).toBe('input_required');
    const [key, request] = Object.entries(asked.inputRequests as Record<string, unknown>)[0]!;
    expect(request).toEqual(ELICIT);
    const final = await bridge.resume(
      asked.requestState,
      { callerId: 'alice', digest, notify },
      { [key]: { action: 'accept', content: { name: 'Ada' } } },
      new AbortController().signal,
    );
    expect(final).toEqual({
      content: [{ type: 'text', text: '{"action":"accept","content":{"name":"Ada"}}' }],
    });
    expect(bridge.size).toBe(0);
  });

  it('asks again when the retry leaves the request unanswered', async () => {
    const { bridge, digest, first } = oneQuestion();
    const asked = await first;
    const again = await bridge.resume(
      asked.requestState,
      { callerId: 'alice', digest, notify },
      {},
      new AbortController().signal,
    );
    expect(again.resultType).toBe('input_required');
    expect(again.inputRequests).toEqual(asked.inputRequests);
  });

  it('refuses a state presented by another caller, for another request, altered, or not its own', async () => {
    const { bridge, digest, first } = oneQuestion();
    const { requestState } = await first;
    const resume = (state: unknown, callerId = 'alice', d = digest) =>
      bridge.resume(state, { callerId, digest: d, notify }, {}, new AbortController().signal);
    await expect(resume(requestState, 'mallory')).rejects.toThrow('issued to another caller');
    await expect(
      resume(requestState, 'alice', requestDigest('tools/call', { name: 't', arguments: { a: 2 } })),
    ).rejects.toThrow('issued for another request');
    const [payload, mac] = (requestState as string).split('.');
    const forged = Buffer.from(
      JSON.stringify({ id: 'req-1', caller: 'mallory', digest, expires: Date.now() + 1e9 }),
    ).toString('base64url');
    await expect(resume(`${forged}.${mac}`, 'mallory')).rejects.toThrow('not one Gatehouse issued');
    await expect(resume(`${payload}.`)).rejects.toThrow('not one Gatehouse issued');
    await expect(resume(42)).rejects.toThrow('not a string');
  });

  it('a client that never comes back: the server’s request fails and the call is cancelled after holdMs', async () => {
    vi.useFakeTimers();
    const { bridge, digest, first, aborted } = oneQuestion(5_000);
    const { requestState } = await first;
    await vi.advanceTimersByTimeAsync(5_001);
    expect(aborted()).toBeInstanceOf(Error);
    expect(bridge.size).toBe(0);
    await expect(
      bridge.resume(requestState, { callerId: 'alice', digest, notify }, {}, new AbortController().signal),
    ).rejects.toThrow('expired');
  });

  it('computes the request digest only when it seals a state: a call no server asks about never needs it', async () => {
    const bridge = createInputBridge({ holdMs: 1_000 });
    const plain = vi.fn(() => 'd');
    const result = { content: [] };
    await expect(
      bridge.start(
        'plain',
        { callerId: 'a', digest: plain, capabilities: CAPS, notify },
        new AbortController().signal,
        async () => result,
      ),
    ).resolves.toBe(result);
    expect(plain).not.toHaveBeenCalled();

    const asked = vi.fn(() => 'd');
    const answer = await bridge.start(
      'asked',
      { callerId: 'a', digest: asked, capabilities: CAPS, notify },
      new AbortController().signal,
      async () => (await bridge.ask('asked', ELICIT)) as never,
    );
    expect(answer).toMatchObject({ resultType: 'input_required' });
    expect(asked).toHaveBeenCalledTimes(1);
  });

  it('refuses a server request the client did not declare, or one that cannot travel as input', () => {
    const bridge = createInputBridge({ holdMs: 1_000 });
    void bridge.start(
      'r',
      { callerId: 'a', digest: () => 'd', capabilities: {}, notify },
      new AbortController().signal,
      () => new Promise(() => undefined),
    );
    expect(() => bridge.ask('r', { method: 'sampling/createMessage', params: {} })).toThrow(
      'did not declare sampling',
    );
    expect(() => bridge.ask('r', { method: 'ping' })).toThrow('cannot travel as an input request');
  });

  it('tells the client the server’s notifications about the call; logs only at the level its request asked', () => {
    const bridge = createInputBridge({ holdMs: 1_000 });
    const told: unknown[] = [];
    const start = (id: string, logLevel?: 'warning') =>
      void bridge.start(
        id,
        {
          callerId: 'a',
          digest: () => 'd',
          capabilities: {},
          notify: (n) => told.push([id, n.method]),
          ...(logLevel ? { logLevel } : {}),
        },
        new AbortController().signal,
        () => new Promise(() => undefined),
      );
    start('quiet');
    start('warned', 'warning');
    const log = (level: string) => ({ method: 'notifications/message', params: { level, data: 'x' } });
    for (const id of ['quiet', 'warned']) {
      expect(bridge.tell(id, log('info'))).toBe(true);
      expect(bridge.tell(id, log('error'))).toBe(true);
      expect(bridge.tell(id, { method: 'notifications/custom', params: {} })).toBe(true);
    }
    expect(bridge.tell('nobody', log('error'))).toBe(false);
    expect(told).toEqual([
      ['quiet', 'notifications/custom'],
      ['warned', 'notifications/message'],
      ['warned', 'notifications/custom'],
    ]);
  });
});
