/**
 * Redaction (src/redact): what `redactArguments` costs every allowed call (the audit trail records each),
 * for typical arguments (10 keys, short strings) with and without secrets, and for 1 MB of text: prose,
 * base64, and the slowest adversarial shape found in detectors.test.ts. The digest (RFC 8785 canonical
 * JSON, then HMAC-SHA256) is shown apart from the redaction itself.
 */
import { argumentsDigest, createRedactor } from '../src/redact/index.js';
import { fmt, percentile } from './stats.js';

const TYPICAL_RUNS = Number(process.env.BENCH_REDACT_RUNS ?? 100_000);
const LARGE_RUNS = Number(process.env.BENCH_REDACT_LARGE_RUNS ?? 20);

const rules = { names: [], paths: ['$.options.cookie'], detect: true };
const digestKey = Buffer.alloc(32, 7);
const keyed = createRedactor({ ...rules, digestKey });
const plain = createRedactor(rules);

const typical = {
  path: '/workspace/src/app/file.ts',
  mode: 'overwrite',
  content: 'export const answer = 42;\n',
  encoding: 'utf8',
  createDirs: true,
  owner: 'alice',
  message: 'Update the answer constant',
  branch: 'main',
  dryRun: false,
  retries: 3,
};
const withSecrets = {
  ...typical,
  password: 'hunter2',
  url: 'postgres://app:s3cret@db.internal:5432/prod',
  header: 'Authorization: Bearer abcdef0123456789abcdef',
};
const MB = 1_000_000;
const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const prose = fill('The quick brown fox jumps over the lazy dog; see https://example.com/a?b=c for more. ');
const base64 = Buffer.alloc((MB * 3) / 4, 7).toString('base64');
const adversarial = fill(':');

/**
 * Median and p99 in µs per call, over samples of `batch` calls each: a single call of a few µs is
 * too short to time alone (reading the clock costs a fraction of it).
 */
function time(runs: number, work: () => unknown, batch = 1): { p50: number; p99: number } {
  for (let i = 0; i < Math.min(runs, 1000); i++) work();
  const sample: number[] = [];
  for (let i = 0; i < runs; i += batch) {
    const start = process.hrtime.bigint();
    for (let j = 0; j < batch; j++) work();
    sample.push(Number(process.hrtime.bigint() - start) / 1000 / batch);
  }
  sample.sort((a, b) => a - b);
  return { p50: percentile(sample, 50), p99: percentile(sample, 99) };
}

export async function benchRedact(): Promise<string> {
  const rows = ['| arguments | work | median (µs) | p99 (µs) |', '| --- | --- | ---: | ---: |'];
  const row = (what: string, work: string, runs: number, fn: () => unknown, digits = 2) => {
    const { p50, p99 } = time(runs, fn, runs >= 1000 ? 100 : 1);
    rows.push(`| ${what} | ${work} | ${fmt(p50, digits)} | ${fmt(p99, digits)} |`);
  };
  row('10 keys, short strings', 'redactArguments (redaction + digest)', TYPICAL_RUNS, () =>
    keyed.redactArguments(typical),
  );
  row('10 keys, short strings', 'redaction only', TYPICAL_RUNS, () => plain.redactArguments(typical));
  row('10 keys, short strings', 'digest only', TYPICAL_RUNS, () => argumentsDigest(digestKey, typical));
  row('13 keys, 3 secrets', 'redactArguments', TYPICAL_RUNS, () => keyed.redactArguments(withSecrets));
  for (const [what, text] of [
    ['1 MB of prose with URLs', prose],
    ['1 MB of base64', base64],
    ['1 MB of `:` (slowest adversarial shape)', adversarial],
  ] as const) {
    row(what, 'redactArguments', LARGE_RUNS, () => keyed.redactArguments({ content: text }), 0);
  }
  return rows.join('\n');
}

// `node --import tsx bench/redact.ts` runs this benchmark alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  benchRedact().then((table) => console.log(table));
}
