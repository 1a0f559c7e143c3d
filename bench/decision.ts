/**
 * Policy decision cost: one call decided against 1 to 1,000 rules, and the load time of 1,000 rules.
 *
 * Two shapes of policy set. "Spread" is how policy sets are written: every rule names its server and
 * tools in `match`, so a call evaluates only the `when` of rules written for its tool (here one rule
 * in ten). "All match" is the worst case: every rule's `when` runs for the call.
 */
import { compilePolicySet, type PolicySet, type PolicySource } from '../src/decision/compile.js';
import { evaluateCall } from '../src/decision/evaluate.js';
import { PolicyLimitsSchema } from '../src/decision/options.js';
import type { ToolCall } from '../src/pipeline/toolCall.js';

const limits = PolicyLimitsSchema.parse({});
const vars = { workspace: '/workspace', protected: ['/workspace/.git', '/workspace/secrets'] };

const call: ToolCall = {
  requestId: 'bench',
  server: 'fs',
  tool: 'write_file',
  exposedName: 'fs__write_file',
  arguments: { path: '/workspace/src/app/main.ts', content: 'export const answer = 42;\n'.repeat(20) },
  caller: { id: 'alice', groups: ['developers'], transport: 'stdio' },
  definition: {
    name: 'write_file',
    inputSchema: { type: 'object' },
    annotations: { readOnlyHint: false, destructiveHint: true },
  },
};

/** Conditions of the kind real policies use, none matching the call, so every one is evaluated. */
const WHENS = [
  'has(args.path) && args.path.startsWith("/etc")',
  '!isUnder(args.path, vars.workspace) && size(args.content) > 1000000',
  'args.path.matches("(?i)\\\\.(pem|key)$")',
  'vars.protected.exists(p, isUnder(args.path, p))',
  '"admins" in caller.groups && tool.annotations.destructiveHint && args.path == "/"',
  'has(args.rows) && args.rows > 1000',
  'normalizePath(args.path).globMatch("**/.env")',
  'caller.id == "mallory" || request.id == "x"',
];
const EFFECTS = ['deny', 'approve', 'allow'] as const;

function rules(count: number, allMatch: boolean): PolicySource[] {
  const files: string[][] = [[], [], [], []];
  for (let i = 0; i < count; i++) {
    // One rule in ten is written for the benchmarked tool; the others for other servers and tools.
    const forCall = allMatch || i % 10 === 0;
    const effect = EFFECTS[i % 3]!;
    const lines = [
      `  - id: rule-${String(i).padStart(4, '0')}`,
      `    match: { servers: ${forCall ? 'fs' : `srv-${i % 25}`}, tools: [${forCall ? 'write_file' : `tool_${i}`}, "other_*"] }`,
      `    when: ${JSON.stringify(WHENS[i % WHENS.length])}`,
      `    effect: ${effect}`,
    ];
    if (effect === 'approve') lines.push('    approvers: [group:ops]');
    files[i % files.length]!.push(lines.join('\n'));
  }
  return files.map((f, i) => ({ file: `bench-${i}.yaml`, text: `rules:\n${f.join('\n')}\n` }));
}

function compile(sources: PolicySource[]): PolicySet {
  const result = compilePolicySet(sources, { vars, limits });
  if (!result.ok) throw new Error(`bench policy did not load: ${result.problems[0]?.message}`);
  return result.set;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Median and p99 of one decision, in microseconds. */
function timeDecisions(set: PolicySet, iterations: number): { median: number; p99: number } {
  const now = new Date();
  for (let i = 0; i < Math.min(iterations, 2000); i++) evaluateCall(set, call, now);
  const samples = new Array<number>(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    evaluateCall(set, call, now);
    samples[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  samples.sort((a, b) => a - b);
  return { median: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

const fmt = (n: number): string => (n < 10 ? n.toFixed(1) : Math.round(n).toString());

export async function benchDecision(): Promise<string> {
  const rows = [
    '| rules | shape | rules evaluated | median (µs) | p99 (µs) |',
    '| ---: | --- | ---: | ---: | ---: |',
  ];
  const cases = [false, true].flatMap((allMatch) =>
    [1, 10, 100, 1000].map((count) => ({ count, allMatch, set: compile(rules(count, allMatch)) })),
  );
  // Warm every set first, so the first rows do not pay for the JIT.
  for (const { set } of cases) timeDecisions(set, 500);
  for (const { count, allMatch, set } of cases) {
    const evaluated = evaluateCall(set, call, new Date()).outcomes.length;
    const { median, p99 } = timeDecisions(set, count >= 1000 && allMatch ? 1000 : 10_000);
    rows.push(
      `| ${count} | ${allMatch ? 'all match' : 'spread'} | ${evaluated} | ${fmt(median)} | ${fmt(p99)} |`,
    );
  }

  const thousand = rules(1000, false);
  const loads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    compile(thousand);
    loads.push(performance.now() - start);
  }
  loads.sort((a, b) => a - b);
  rows.push(
    '',
    `Load and type-check 1,000 rules (4 files): ${fmt(percentile(loads, 0.5))} ms (median of 5).`,
  );
  return rows.join('\n');
}

// `node --import tsx bench/decision.ts` runs this benchmark alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  benchDecision().then((table) => console.log(table));
}
