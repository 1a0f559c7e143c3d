import type { ToolCall } from '../pipeline/toolCall.js';
import { compilePolicySet, type PolicySet, type PolicySource } from './compile.js';
import { formatProblems } from './problems.js';
import { PolicyLimitsSchema, type PolicyLimits } from './options.js';

/** Small builders shared by the policy engine's tests (and handy in a REPL). */

export const defaultLimits: PolicyLimits = PolicyLimitsSchema.parse({});

export function makeCall(
  server: string,
  tool: string,
  args: Record<string, unknown> = {},
  overrides: Partial<Omit<ToolCall, 'server' | 'tool' | 'arguments'>> = {},
): ToolCall {
  return {
    requestId: 'req-1',
    server,
    tool,
    exposedName: `${server}__${tool}`,
    arguments: args,
    caller: { id: 'alice', groups: ['developers'], transport: 'stdio' },
    definition: { name: tool, inputSchema: { type: 'object' } },
    ...overrides,
  };
}

/** Compiles sources and throws the formatted problems if they do not load. */
export function compileOrThrow(
  sources: PolicySource[] | string,
  options: { vars?: Record<string, unknown>; limits?: Partial<PolicyLimits> } = {},
): PolicySet {
  const list = typeof sources === 'string' ? [{ file: 'policy.yaml', text: sources }] : sources;
  const result = compilePolicySet(list, {
    vars: options.vars,
    limits: { ...defaultLimits, ...options.limits },
  });
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.set;
}

/** The problems of sources that must not load, formatted as the user sees them. */
export function loadErrors(
  text: string,
  options: { vars?: Record<string, unknown>; file?: string } = {},
): string {
  const result = compilePolicySet([{ file: options.file ?? 'policy.yaml', text }], {
    vars: options.vars,
    limits: defaultLimits,
  });
  if (result.ok) throw new Error('the policy loaded, but a load error was expected');
  return formatProblems(result.problems);
}
