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

/**
 * Keys that have broken, or could break, code that keeps data in plain JavaScript objects: the names
 * of Object.prototype members, `__proto__`, the empty string, NUL, look-alike and invisible letters,
 * bidirectional controls, and keys that look like numbers.
 */
export const HOSTILE_KEYS: readonly string[] = [
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__proto__',
  '__defineGetter__',
  '',
  '\u0000',
  'a\u0000b',
  'сonstructor', // Cyrillic с
  'ｘ', // fullwidth x
  'x\u200b', // zero-width space after x
  '\u202eevil', // right-to-left override
  '0',
  '-1',
  '1e3',
  '9007199254740993',
];
