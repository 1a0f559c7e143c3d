import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { inPeriod, parsePeriod } from './period.js';

describe('parsePeriod', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');

  it('reads UTC dates, times with an offset and spans back from now', () => {
    expect(parsePeriod({ since: '2026-03-01', until: '2026-03-05T09:30:00+01:00' }, now)).toEqual({
      since: new Date('2026-03-01T00:00:00.000Z'),
      until: new Date('2026-03-05T08:30:00.000Z'),
    });
    expect(parsePeriod({ since: '90m' }, now).since).toEqual(new Date('2026-03-10T10:30:00.000Z'));
    expect(parsePeriod({ since: '7d' }, now).since).toEqual(new Date('2026-03-03T12:00:00.000Z'));
  });

  it('takes a bare date as --until to include that whole day', () => {
    const period = parsePeriod({ since: '2026-03-01', until: '2026-03-01' }, now);
    expect(inPeriod(period, '2026-03-01T23:59:59.999Z')).toBe(true);
    expect(inPeriod(period, '2026-03-02T00:00:00.000Z')).toBe(false);
    expect(inPeriod(period, '2026-02-28T23:59:59.999Z')).toBe(false);
  });

  it('refuses what it cannot read, and a period that ends before it starts', () => {
    for (const flags of [{ since: 'yesterday' }, { until: '2026-3-1' }, { since: '2026-03-01T10:00' }]) {
      expect(() => parsePeriod(flags, now)).toThrow(/give a UTC date/);
    }
    let error: unknown;
    try {
      parsePeriod({ since: '2026-03-02', until: '2026-03-01T00:00:00Z' }, now);
    } catch (caught) {
      error = caught;
    }
    expect(isGatehouseError(error, 'USAGE')).toBe(true);
  });
});
