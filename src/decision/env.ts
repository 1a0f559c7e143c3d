import { Environment } from '@marcbachmann/cel-js';
import type { RE2JS } from 're2js';
import { compileGlob } from './glob.js';
import { isUnder, normalizePath } from './paths.js';
import { compileRe2Pattern, PatternCache } from './regex.js';

/**
 * The CEL environment policies are checked and evaluated in: declared, typed variables and the
 * helper functions CEL lacks. Typed messages (not maps) for `tool`, `caller` and `request`, so a typo
 * such as `tool.nmae` fails the load instead of denying every call at run time.
 */

export class ToolAnnotationsValue {
  constructor(
    readonly readOnlyHint: boolean,
    readonly destructiveHint: boolean,
    readonly idempotentHint: boolean,
    readonly openWorldHint: boolean,
  ) {}
}

export class ToolValue {
  constructor(
    readonly name: string,
    readonly server: string,
    readonly exposedName: string,
    readonly description: string,
    readonly annotations: ToolAnnotationsValue,
  ) {}
}

export class ClientValue {
  constructor(
    readonly name: string,
    readonly version: string,
  ) {}
}

export class CallerValue {
  constructor(
    readonly id: string,
    readonly groups: readonly string[],
    /** Undefined when the client did not say: `has(caller.client)` is then false. */
    readonly client: ClientValue | undefined,
    readonly transport: string,
  ) {}
}

export class RequestValue {
  constructor(readonly id: string) {}
}

/** The variables a `when` expression may name. */
export const VARIABLES = ['tool', 'args', 'caller', 'now', 'request', 'vars'] as const;

/** Variables whose value depends on the call, not only on the tool: rules naming them are dynamic. */
export const CALL_VARIABLES: ReadonlySet<string> = new Set(['args', 'caller', 'now', 'request']);

/**
 * `matches` is CEL's own function and cel-js runs it on JavaScript RegExp, which backtracks. The
 * library refuses a second overload of a built-in, so compile.ts renames every `matches` call to this
 * name before type checking; messages are renamed back.
 */
export const RE2_MATCHES = '__re2_matches';

export interface PolicyEnvironment {
  env: Environment;
  regexes: PatternCache<RE2JS>;
  globs: PatternCache<RE2JS>;
  /** Every function and method name the environment knows, for "unknown function" messages. */
  functionNames: ReadonlySet<string>;
}

const sync = { async: false } as const;

export function createPolicyEnvironment(): PolicyEnvironment {
  const regexes = new PatternCache<RE2JS>('regular expression', compileRe2Pattern);
  const globs = new PatternCache<RE2JS>('glob', compileGlob);
  const env = new Environment({ limits: { maxAstNodes: 10_000 } })
    .registerType('ToolAnnotations', {
      ctor: ToolAnnotationsValue,
      fields: {
        readOnlyHint: 'bool',
        destructiveHint: 'bool',
        idempotentHint: 'bool',
        openWorldHint: 'bool',
      },
    })
    .registerType('Tool', {
      ctor: ToolValue,
      fields: {
        name: 'string',
        server: 'string',
        exposedName: 'string',
        description: 'string',
        annotations: 'ToolAnnotations',
      },
    })
    .registerType('Client', { ctor: ClientValue, fields: { name: 'string', version: 'string' } })
    .registerType('Caller', {
      ctor: CallerValue,
      fields: { id: 'string', groups: 'list<string>', client: 'Client', transport: 'string' },
    })
    .registerType('Request', { ctor: RequestValue, fields: { id: 'string' } })
    .registerVariable('tool', 'Tool', { description: 'the tool being called' })
    .registerVariable('args', 'map<string, dyn>', { description: "the call's arguments" })
    .registerVariable('caller', 'Caller', { description: 'who is calling' })
    .registerVariable('now', 'google.protobuf.Timestamp', { description: 'the time of the decision' })
    .registerVariable('request', 'Request', { description: 'the request' })
    .registerVariable('vars', 'map<string, dyn>', { description: 'constants from the configuration' })
    .registerFunction(
      `string.${RE2_MATCHES}(string): bool`,
      (s: string, p: string) => regexes.get(p).test(s),
      sync,
    )
    .registerFunction(
      'glob(string, string): bool',
      (pattern: string, s: string) => globs.get(pattern).test(s),
      sync,
    )
    .registerFunction(
      'string.globMatch(string): bool',
      (s: string, pattern: string) => globs.get(pattern).test(s),
      sync,
    )
    .registerFunction('normalizePath(string): string', (p: string) => normalizePath(p), sync)
    .registerFunction('isUnder(string, string): bool', (p: string, dir: string) => isUnder(p, dir), sync);
  registerMixedArithmetic(env);
  const functionNames = new Set(env.getDefinitions().functions.map((f) => f.name));
  functionNames.add('matches');
  return { env, regexes, globs, functionNames };
}

/**
 * JSON numbers arrive as doubles and literals such as `1000` are ints; CEL has no arithmetic across
 * the two, so `args.rows + 1` would fail at run time. These overloads compute in double.
 */
function registerMixedArithmetic(env: Environment): void {
  const ops: Record<string, (a: number, b: number) => number> = {
    '+': (a, b) => a + b,
    '-': (a, b) => a - b,
    '*': (a, b) => a * b,
    '/': (a, b) => a / b,
  };
  for (const [op, fn] of Object.entries(ops)) {
    env.registerOperator(`double ${op} int: double`, (a: number, b: bigint) => fn(a, Number(b)));
    env.registerOperator(`int ${op} double: double`, (a: bigint, b: number) => fn(Number(a), b));
  }
}
