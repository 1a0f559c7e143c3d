import { describe, expect, it } from 'vitest';
import { createPolicyEnvironment } from './env.js';
import { DeadlineExceeded, instrument, withDeadline } from './guard.js';

/** Pins the cel-js internals the deadline relies on: an upgrade that changes them fails here. */
describe('comprehension instrumentation', () => {
  const { env } = createPolicyEnvironment();
  const checked = (source: string) => {
    const parsed = env.parse(source);
    expect(parsed.check().valid).toBe(true);
    return parsed;
  };

  it('finds every comprehension, including those inside macros and binds', () => {
    expect(instrument(checked('args.a == 1').ast)).toBe(0);
    expect(instrument(checked('args.l.exists(x, args.l.all(y, x != y))').ast)).toBe(2);
    expect(instrument(checked('size(args.l.map(x, x).filter(y, y > 0)) > 0').ast)).toBe(2);
    expect(instrument(checked('cel.bind(v, args.l.exists_one(x, x == 1), v)').ast)).toBe(1);
  });

  it('stops an instrumented expression at the deadline', () => {
    const parsed = checked('args.l.exists(x, args.l.exists(y, x == y + 1000000))');
    instrument(parsed.ast);
    const l = Array.from({ length: 20_000 }, (_, i) => i);
    const run = withDeadline(20, () => parsed({ args: { l } }));
    expect(run.ok).toBe(false);
    if (!run.ok) expect(run.error).toBeInstanceOf(DeadlineExceeded);
  });

  it('returns the value of a run that finishes in time, and leaves later runs unbounded', () => {
    const parsed = checked('args.l.exists(x, x == 2)');
    instrument(parsed.ast);
    expect(withDeadline(1000, () => parsed({ args: { l: [1, 2, 3] } }))).toEqual({ ok: true, value: true });
    expect(parsed({ args: { l: [1, 3] } })).toBe(false);
  });
});
