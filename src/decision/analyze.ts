import { RE2_MATCHES, type PolicyEnvironment } from './env.js';

/**
 * Load-time analysis of a parsed (not yet type-checked) expression: what the type checker does not
 * see. It renames `matches` to the RE2 implementation, compiles literal regexes and globs (so one
 * RE2 cannot run is refused here, with its location), bounds comprehension nesting, finds the
 * variables the expression reads (rules that read only `tool` and `vars` are decided per tool, for
 * tools/list), and checks `vars.x` against the configured vars when they are known.
 */

export interface Finding {
  /** Offset in the expression. */
  offset: number;
  message: string;
}

export interface Analysis {
  findings: Finding[];
  /** Root variables read, outside comprehension and bind scopes. */
  reads: Set<string>;
  comprehensions: number;
}

export interface AnalyzeOptions {
  maxNesting: number;
  /** Keys of the configured vars; undefined when unknown (policy check without a config). */
  varKeys?: ReadonlySet<string>;
}

/** What this walk reads of cel-js's AST: the public `op`, `args`, `start` and `meta`. */
interface Node {
  op: string;
  args: unknown;
  start: number;
  meta?: { alternate?: unknown };
}

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

export function analyze(root: unknown, penv: PolicyEnvironment, options: AnalyzeOptions): Analysis {
  const analysis: Analysis = { findings: [], reads: new Set(), comprehensions: 0 };
  const find = (node: Node, message: string): void =>
    void analysis.findings.push({ offset: node.start, message });

  const literal = (node: unknown): string | undefined => {
    const n = node as Node;
    return n.op === 'value' && typeof n.args === 'string' ? n.args : undefined;
  };

  const compileLiteral = (pattern: unknown, cache: PolicyEnvironment['regexes']): void => {
    const text = literal(pattern);
    if (text === undefined) return;
    try {
      cache.addLiteral(text);
    } catch (error) {
      find(pattern as Node, error instanceof Error ? error.message : String(error));
    }
  };

  const checkVarKey = (
    node: Node,
    key: string | undefined,
    scope: ReadonlySet<string>,
    inHas: boolean,
  ): void => {
    const target = (node.args as unknown[])[0] as Node;
    if (
      inHas ||
      key === undefined ||
      !options.varKeys ||
      target.op !== 'id' ||
      target.args !== 'vars' ||
      scope.has('vars')
    )
      return;
    if (!options.varKeys.has(key)) {
      const known = [...options.varKeys].sort().join(', ') || 'none';
      find(node, `vars has no key "${key}" (configured: ${known})`);
    }
  };

  const walk = (value: unknown, scope: ReadonlySet<string>, depth: number, inHas = false): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, scope, depth, inHas);
      return;
    }
    if (typeof value !== 'object' || value === null || !('op' in value)) return;
    const node = value as Node;
    const args = node.args as unknown[];
    switch (node.op) {
      case 'value':
        return;
      case 'id':
        if (!scope.has(node.args as string)) analysis.reads.add(node.args as string);
        return;
      case '.':
      case '.?':
        checkVarKey(node, args[1] as string, scope, inHas);
        walk(args[0], scope, depth, inHas);
        return;
      case '[]':
      case '[?]':
        checkVarKey(node, literal(args[1]), scope, inHas);
        walk(args, scope, depth, inHas);
        return;
      case 'call': {
        const [name, callArgs] = args as [string, unknown[]];
        if (!penv.functionNames.has(name)) return find(node, `unknown function ${name}()`);
        if (name === 'glob') compileLiteral(callArgs[0], penv.globs);
        walk(callArgs, scope, depth, inHas || name === 'has');
        return;
      }
      case 'rcall':
        return walkMethod(node, scope, depth, inHas);
      default:
        walk(node.args, scope, depth, inHas);
    }
  };

  const walkMethod = (node: Node, scope: ReadonlySet<string>, depth: number, inHas: boolean): void => {
    const args = node.args as [string, Node, Node[]];
    const [name, receiver, callArgs] = args;
    const macro = node.meta?.alternate !== undefined;
    if (macro && COMPREHENSIONS.has(name)) {
      analysis.comprehensions++;
      walk(receiver, scope, depth, inHas);
      if (depth + 1 > options.maxNesting) {
        find(
          node,
          `comprehensions are nested ${depth + 1} deep; the limit is ${options.maxNesting} (policyLimits.maxComprehensionNesting)`,
        );
        return;
      }
      const inner = new Set(scope).add(callArgs[0]!.args as string);
      walk(callArgs.slice(1), inner, depth + 1, inHas);
      return;
    }
    if (name === 'bind' && receiver.op === 'id' && receiver.args === 'cel') {
      // Nested binds can double a value at each level (`cel.bind(a, l + l, cel.bind(b, a + a, …))`), so
      // they count toward the same nesting bound as comprehensions.
      const [variable, init, body] = callArgs as [Node, Node, Node];
      walk(init, scope, depth, inHas);
      if (depth + 1 > options.maxNesting) {
        find(
          node,
          `cel.bind is nested ${depth + 1} deep; the limit is ${options.maxNesting} (policyLimits.maxComprehensionNesting)`,
        );
        return;
      }
      walk(body, new Set(scope).add(variable.args as string), depth + 1, inHas);
      return;
    }
    if (!penv.functionNames.has(name)) return find(node, `unknown function ${name}()`);
    if (name === 'matches' && callArgs.length === 1) {
      args[0] = RE2_MATCHES;
      compileLiteral(callArgs[0], penv.regexes);
    }
    if (name === 'globMatch') compileLiteral(callArgs[0], penv.globs);
    walk(receiver, scope, depth, inHas);
    walk(callArgs, scope, depth, inHas);
  };

  walk(root, new Set(), 0);
  return analysis;
}
