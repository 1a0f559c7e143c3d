import type { ParseError, TypeError as CelTypeError } from '@marcbachmann/cel-js';
import { analyze, type AnalyzeOptions, type Finding } from './analyze.js';
import { RE2_MATCHES, VARIABLES, type PolicyEnvironment } from './env.js';
import { instrument } from './guard.js';
import type { CelInput } from './input.js';

/** One `when` expression: parsed, analysed, type-checked and instrumented, or the reasons it is not. */

export type CompiledExpression =
  | {
      ok: true;
      evaluate: (input: CelInput | Pick<CelInput, 'tool' | 'vars'>) => unknown;
      /** Root variables the expression reads. */
      reads: ReadonlySet<string>;
      /** Has comprehensions: evaluate under a deadline. */
      guarded: boolean;
    }
  | { ok: false; findings: Finding[] };

/** What an expression must evaluate to: `when` is a bool; a credential's scope template a string or list. */
export interface ExpectedType {
  types: readonly string[];
  /** How messages name it: `when must be a bool expression`. */
  what: string;
  description: string;
}

const WHEN: ExpectedType = { types: ['bool'], what: 'when', description: 'a bool' };

export function compileExpression(
  penv: PolicyEnvironment,
  source: string,
  options: AnalyzeOptions,
  expected: ExpectedType = WHEN,
): CompiledExpression {
  let parsed: ReturnType<PolicyEnvironment['env']['parse']>;
  try {
    parsed = penv.env.parse(source);
  } catch (error) {
    return { ok: false, findings: [celFinding(error, 'syntax error: ')] };
  }

  const analysis = analyze(parsed.ast, penv, options);
  if (analysis.findings.length > 0) return { ok: false, findings: analysis.findings };

  const checked = parsed.check();
  if (!checked.valid) return { ok: false, findings: [celFinding(checked.error, '')] };
  if (checked.type !== 'dyn' && !expected.types.includes(checked.type ?? 'dyn')) {
    return {
      ok: false,
      findings: [
        {
          offset: 0,
          message: `${expected.what} must be ${expected.description} expression; this one is ${checked.type}`,
        },
      ],
    };
  }

  const guarded = instrument(parsed.ast) > 0;
  return { ok: true, evaluate: parsed, reads: analysis.reads, guarded };
}

/** cel-js messages, in the author's terms. */
function celFinding(error: unknown, prefix: string): Finding {
  const cel = error as Partial<ParseError | CelTypeError> | undefined;
  const offset = cel?.range?.start ?? 0;
  const summary = (cel?.summary ?? (error instanceof Error ? error.message : String(error))).replaceAll(
    RE2_MATCHES,
    'matches',
  );
  switch (cel?.code) {
    case 'unknown_variable': {
      const name = /Unknown variable: (\S+)/.exec(summary)?.[1] ?? '?';
      return { offset, message: `undeclared variable "${name}" (declared: ${VARIABLES.join(', ')})` };
    }
    case 'no_such_overload':
    case 'no_matching_overload':
      return { offset, message: `type mismatch: ${summary}` };
    case 'no_such_key':
      return { offset, message: `no such field "${summary.replace(/^No such key: /, '')}"` };
    default:
      return { offset, message: `${prefix}${summary}` };
  }
}
