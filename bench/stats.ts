/** Percentile of a sample (nearest-rank), in the sample's unit. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  perSecond: number;
}

export function summarize(durationsMs: number[], wallMs: number): Summary {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    perSecond: (sorted.length / wallMs) * 1000,
  };
}

/** The middle value (the upper one of an even count), as the side-by-side benchmarks report rounds. */
export const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export const fmt = (value: number, digits = 3) => value.toFixed(digits);
