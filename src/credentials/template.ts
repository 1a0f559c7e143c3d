import { createPolicyEnvironment, type PolicyEnvironment } from '../decision/env.js';
import { compileExpression, type ExpectedType } from '../decision/expression.js';
import { celInput, prepareArguments } from '../decision/input.js';
import type { PolicyLimits } from '../decision/options.js';
import type { ToolCall } from '../pipeline/toolCall.js';

/**
 * A credential's scope, audience, resource or path: a CEL expression over the approved call, in the
 * policies' own environment (`args`, `tool`, `caller`, `request`, `now`, `vars`), type-checked when the
 * config loads and rendered per call from the arguments that were approved.
 */

const STRING_OR_LIST: Omit<ExpectedType, 'what'> = {
  types: ['string', 'list<string>'],
  description: 'a string or list<string>',
};

/** Templates need no comprehension nesting beyond what policies allow by default. */
const MAX_NESTING = 2;

let shared: PolicyEnvironment | undefined;
const environment = () => (shared ??= createPolicyEnvironment());

/** Why `source` is not a usable template, or undefined. For the config schema's load-time check. */
export function checkTemplate(source: string, what: string): string | undefined {
  const compiled = compileExpression(
    environment(),
    source,
    { maxNesting: MAX_NESTING },
    { ...STRING_OR_LIST, what },
  );
  if (compiled.ok) return undefined;
  return compiled.findings.map((f) => `CEL at offset ${f.offset}: ${f.message}`).join('; ');
}

export type Template = (call: ToolCall, now: Date, vars: ReadonlyMap<string, unknown>) => string;

/** A checked template as a function of the call; throws with a readable reason when rendering fails. */
export function compileTemplate(source: string, what: string, limits: PolicyLimits): Template {
  const compiled = compileExpression(
    environment(),
    source,
    { maxNesting: MAX_NESTING },
    { ...STRING_OR_LIST, what },
  );
  if (!compiled.ok) throw new Error(`${what}: ${compiled.findings.map((f) => f.message).join('; ')}`);
  return (call, now, vars) => {
    const prepared = prepareArguments(call.arguments, limits);
    if (!prepared.ok) throw new Error(`${what} cannot be rendered: ${prepared.reason}`);
    let value: unknown;
    try {
      value = compiled.evaluate(celInput(call, prepared.args, now, vars));
    } catch (error) {
      const summary = (error as { summary?: unknown }).summary;
      throw new Error(`${what} failed to render: ${typeof summary === 'string' ? summary : String(error)}`);
    }
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(' ');
    throw new Error(`${what} rendered to something other than a string or a list of strings`);
  };
}
