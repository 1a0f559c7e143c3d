import { GatehouseError } from '../errors.js';

/**
 * The period a reader asks about (`--since`, `--until`): a UTC date (`2026-01-31`), a time with its
 * offset (`2026-01-31T09:00:00+01:00`), or a span back from now (`90m`, `24h`, `7d`). `since` is
 * inclusive and `until` exclusive, except that a bare date as `until` covers that whole day, as an
 * auditor reading "until 31 January" means.
 */
export interface Period {
  since?: Date;
  until?: Date;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;
const SPAN = /^(\d+)([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DAY_MS = 86_400_000;

export function parsePeriodBound(text: string, flag: '--since' | '--until', now: Date): Date {
  const span = SPAN.exec(text);
  if (span) return new Date(now.getTime() - Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS]);
  const ms = DATE.test(text)
    ? Date.parse(`${text}T00:00:00Z`)
    : DATE_TIME.test(text)
      ? Date.parse(text)
      : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new GatehouseError(
      'USAGE',
      `${flag} ${JSON.stringify(text)}: give a UTC date (2026-01-31), a time with its offset ` +
        '(2026-01-31T09:00:00Z) or a span back from now (90m, 24h, 7d)',
    );
  }
  return new Date(flag === '--until' && DATE.test(text) ? ms + DAY_MS : ms);
}

export function parsePeriod(flags: { since?: string; until?: string }, now = new Date()): Period {
  const period: Period = {
    ...(flags.since !== undefined && { since: parsePeriodBound(flags.since, '--since', now) }),
    ...(flags.until !== undefined && { until: parsePeriodBound(flags.until, '--until', now) }),
  };
  if (period.since && period.until && period.since >= period.until) {
    throw new GatehouseError('USAGE', `--since ${flags.since} is not before --until ${flags.until}`);
  }
  return period;
}

/** Whether an ISO time falls in the period. */
export function inPeriod(period: Period, time: string): boolean {
  const ms = Date.parse(time);
  return (!period.since || ms >= period.since.getTime()) && (!period.until || ms < period.until.getTime());
}
