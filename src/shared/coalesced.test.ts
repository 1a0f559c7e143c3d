import { describe, expect, it } from 'vitest';
import { coalesced } from './coalesced.js';

/** A run that waits until the test lets it end, counting how many started. */
function heldRuns() {
  const ends: ((error?: Error) => void)[] = [];
  let started = 0;
  const run = () => {
    started++;
    return new Promise<void>((resolve, reject) => ends.push((error) => (error ? reject(error) : resolve())));
  };
  return { run, ends, started: () => started };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesced (how the change feed and the outbox counts turn wake-ups into runs)', () => {
  it('makes any number of wake-ups during a run into one more run, which starts after all of them', async () => {
    const runs = heldRuns();
    const read = coalesced(runs.run, () => undefined);
    read.wake();
    expect(runs.started()).toBe(1);
    for (let i = 0; i < 20; i++) read.wake();
    expect(runs.started()).toBe(1);
    runs.ends.shift()!();
    await settle();
    expect(runs.started()).toBe(2);
    runs.ends.shift()!();
    await read.idle();
    expect(runs.started()).toBe(2);
    // Idle, a wake-up runs at once.
    read.wake();
    expect(runs.started()).toBe(3);
    runs.ends.shift()!();
    await read.idle();
  });

  it('reports a failed run and runs again when woken', async () => {
    const runs = heldRuns();
    const failures: unknown[] = [];
    const read = coalesced(runs.run, (error) => failures.push(error));
    read.wake();
    read.wake();
    runs.ends.shift()!(new Error('connection lost'));
    await settle();
    expect(failures).toEqual([new Error('connection lost')]);
    expect(runs.started()).toBe(2);
    runs.ends.shift()!();
    await read.idle();
    expect(runs.started()).toBe(2);
  });
});
