import { z } from 'zod';
import { CallInputSchema, toToolCall } from './callInput.js';
import { compilePolicySet, type CompileResult, type PolicySource } from './compile.js';
import { parseDuration } from './duration.js';
import { evaluateCall } from './evaluate.js';
import { explainEvaluation, formatExplanation } from './explain.js';
import type { PolicyLimits } from './options.js';
import { locate, readYaml } from './parse.js';
import type { Problem } from './problems.js';
import { EFFECTS } from './schema.js';
import type { Decision } from './types.js';
import { visibilityOf } from './visibility.js';

/**
 * YAML test cases for policies, in the style of OPA and cerbos: a call, and the decision expected
 * for it. Users run them in their own CI with `gatehouse policy test`.
 *
 * ```yaml
 * vars: { workspace: /workspace }        # optional, as in the config
 * cases:
 *   - name: reads are allowed
 *     call: { server: fs, tool: read_text_file, arguments: { path: /etc/hosts } }
 *     expect: { effect: allow, rule: fs-reads }
 * ```
 */

const ExpectSchema = z.strictObject({
  effect: z.enum(EFFECTS),
  /** The deciding rule id(s); `[]` for the default. Unchecked when absent. */
  rule: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  /** A substring of the reason. */
  reason: z.string().min(1).optional(),
  approvers: z.array(z.string()).optional(),
  quorum: z.number().int().min(1).optional(),
  ttl: z
    .string()
    .refine((v) => parseDuration(v) !== undefined, 'not a duration such as 30m')
    .optional(),
  visibility: z.enum(['visible', 'hidden', 'may-need-approval']).optional(),
  /** The credentials the call would be given; `[]` for none. */
  credentials: z.array(z.string().min(1)).optional(),
});

const CaseSchema = z.strictObject({ name: z.string().min(1), call: CallInputSchema, expect: ExpectSchema });

export const PolicyTestFileSchema = z.strictObject({
  description: z.string().optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  cases: z.array(CaseSchema).min(1),
});

export interface CaseResult {
  name: string;
  /** `file:line` of the case. */
  at: string;
  failures: string[];
  /** Every rule considered, for failed cases. */
  explanation: string[];
}

export interface TestFileResult {
  file: string;
  /** The test file or the policies could not be read: no case ran. */
  problems: Problem[];
  cases: CaseResult[];
}

/** Runs one test file against policy sources; compiled sets are shared per vars through `cache`. */
export function runPolicyTestFile(
  policies: readonly PolicySource[],
  file: string,
  text: string,
  limits: PolicyLimits,
  cache = new Map<string, CompileResult>(),
): TestFileResult {
  const yaml = readYaml(file, text);
  if (yaml.problems.length > 0) return { file, problems: yaml.problems, cases: [] };
  const parsed = PolicyTestFileSchema.safeParse(yaml.data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.filter((p) => typeof p !== 'symbol');
      return yaml.source.problem(locate(yaml.doc, path), `${path.join('.') || 'file'}: ${issue.message}`);
    });
    return { file, problems, cases: [] };
  }

  const key = JSON.stringify(parsed.data.vars ?? null);
  const compiled = cache.get(key) ?? compilePolicySet(policies, { vars: parsed.data.vars, limits });
  cache.set(key, compiled);
  if (!compiled.ok) return { file, problems: compiled.problems, cases: [] };
  const set = compiled.set;

  const cases = parsed.data.cases.map((testCase, index): CaseResult => {
    const { line } = yaml.source.position(locate(yaml.doc, ['cases', index]));
    const { call, now } = toToolCall(testCase.call);
    const evaluation = evaluateCall(set, call, now, true);
    const failures = compare(testCase.expect, evaluation.decision);
    if (testCase.expect.visibility !== undefined) {
      const visibility = visibilityOf(set, call);
      if (visibility !== testCase.expect.visibility)
        failures.push(`visibility: expected ${testCase.expect.visibility}, got ${visibility}`);
    }
    return {
      name: testCase.name,
      at: `${file}:${line}`,
      failures,
      explanation: failures.length > 0 ? formatExplanation(explainEvaluation(set, call, evaluation)) : [],
    };
  });
  return { file, problems: [], cases };
}

function compare(expect: z.infer<typeof ExpectSchema>, decision: Decision): string[] {
  const failures: string[] = [];
  const got = `${decision.effect} by ${decision.rules.length > 0 ? decision.rules.join(', ') : 'the default'} (${decision.reason})`;
  if (expect.effect !== decision.effect) failures.push(`effect: expected ${expect.effect}, got ${got}`);
  if (expect.rule !== undefined) {
    const want = (typeof expect.rule === 'string' ? [expect.rule] : expect.rule).slice().sort();
    if (want.join(',') !== decision.rules.join(',')) {
      failures.push(`rule: expected ${want.length > 0 ? want.join(', ') : 'none (the default)'}, got ${got}`);
    }
  }
  if (expect.reason !== undefined && !decision.reason.includes(expect.reason)) {
    failures.push(
      `reason: expected it to contain ${JSON.stringify(expect.reason)}, got ${JSON.stringify(decision.reason)}`,
    );
  }
  const approval = decision.approval;
  if (expect.approvers !== undefined) {
    const want = [...expect.approvers].sort().join(', ');
    const have = approval?.approvers.join(', ') ?? 'none';
    if (want !== have) failures.push(`approvers: expected ${want}, got ${have}`);
  }
  if (expect.quorum !== undefined && expect.quorum !== approval?.quorum) {
    failures.push(`quorum: expected ${expect.quorum}, got ${approval?.quorum ?? 'none'}`);
  }
  if (expect.ttl !== undefined && parseDuration(expect.ttl) !== approval?.ttlMs) {
    failures.push(`ttl: expected ${expect.ttl}, got ${approval ? `${approval.ttlMs} ms` : 'none'}`);
  }
  if (expect.credentials !== undefined) {
    const want = [...new Set(expect.credentials)].sort().join(', ') || 'none';
    const have = decision.credentials?.join(', ') || 'none';
    if (want !== have) failures.push(`credentials: expected ${want}, got ${have}`);
  }
  return failures;
}
