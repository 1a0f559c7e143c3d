import type { ToolCall } from '../pipeline/toolCall.js';
import { CallerValue, ClientValue, RequestValue, ToolAnnotationsValue, ToolValue } from './env.js';
import type { PolicyLimits } from './options.js';

/**
 * Turns a call into CEL input, after checking the argument limits before any rule runs.
 *
 * Numbers: JSON has one number type, so arguments arrive as doubles, as in cel-go. CEL compares
 * ints and doubles by value (`args.rows > 1000`, `args.rows == 1000`, `args.n in [1, 2]` all work),
 * and env.ts adds int/double arithmetic (`args.rows + 1`); only `%` needs `int(args.rows) % 2`.
 */

export type PreparedArguments = { ok: true } | { ok: false; reason: string };

/**
 * One pass over the arguments measuring depth and approximate JSON size. It stops at the first bound
 * crossed, so a 50 MB or 10,000-deep argument costs no more than the limit itself.
 */
export function checkArguments(args: Record<string, unknown>, limits: PolicyLimits): PreparedArguments {
  const state: Measure = {
    budget: limits.maxArgumentBytes,
    maxDepth: limits.maxArgumentDepth,
    fault: undefined,
  };
  if (measure(args, 0, state)) return { ok: true };
  if (state.fault === 'depth')
    return { ok: false, reason: `the arguments are nested deeper than ${limits.maxArgumentDepth} levels` };
  if (state.fault === 'size')
    return { ok: false, reason: `the arguments are larger than ${limits.maxArgumentBytes} bytes` };
  return { ok: false, reason: `the arguments hold a ${state.fault}, which JSON cannot carry` };
}

interface Measure {
  budget: number;
  maxDepth: number;
  /** What stopped the walk: `size`, `depth`, or the JavaScript type JSON cannot carry. */
  fault: string | undefined;
}

/** False as soon as a bound is crossed. Plain recursion and no closures: this runs on every call. */
function measure(value: unknown, depth: number, state: Measure): boolean {
  switch (typeof value) {
    case 'string':
      // A string's UTF-8 length is at least its UTF-16 length: check that before measuring it.
      state.budget -= value.length + 2;
      if (state.budget >= 0 && value.length * 3 > state.budget)
        state.budget -= Buffer.byteLength(value) - value.length;
      break;
    case 'number':
    case 'boolean':
      state.budget -= 8;
      break;
    case 'object': {
      if (value === null) {
        state.budget -= 4;
        break;
      }
      if (depth >= state.maxDepth) {
        state.fault = 'depth';
        return false;
      }
      state.budget -= 2;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          state.budget -= 1;
          if (state.budget < 0 || !measure(value[i], depth + 1, state)) return fail(state);
        }
      } else {
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          state.budget -= key.length + 4;
          if (state.budget < 0 || !measure((value as Record<string, unknown>)[key], depth + 1, state))
            return fail(state);
        }
      }
      break;
    }
    default:
      state.fault = typeof value;
      return false;
  }
  return state.budget >= 0 || fail(state);
}

function fail(state: Measure): false {
  state.fault ??= 'size';
  return false;
}

export interface CelInput {
  tool: ToolValue;
  args: Record<string, unknown>;
  caller: CallerValue;
  now: Date;
  request: RequestValue;
  vars: Record<string, unknown>;
}

/** The proxy hands the same catalog definition to every call of a tool: build its CEL value once. */
const toolValues = new WeakMap<object, ToolValue>();

export function toolValue(tool: Pick<ToolCall, 'server' | 'tool' | 'exposedName' | 'definition'>): ToolValue {
  const cached = toolValues.get(tool.definition);
  if (
    cached &&
    cached.name === tool.tool &&
    cached.server === tool.server &&
    cached.exposedName === tool.exposedName
  ) {
    return cached;
  }
  const value = new ToolValue(
    tool.tool,
    tool.server,
    tool.exposedName,
    tool.definition.description ?? '',
    annotationsValue(tool.definition.annotations),
  );
  toolValues.set(tool.definition, value);
  return value;
}

/**
 * Absent hints take MCP's documented defaults (readOnly false, destructive true unless read-only,
 * idempotent false, openWorld true), so a policy reads the same meaning the spec gives them.
 * Anything but a boolean counts as absent: the hints come from the downstream server.
 */
function annotationsValue(annotations: Record<string, unknown> | undefined): ToolAnnotationsValue {
  const readOnly = hint(annotations, 'readOnlyHint') ?? false;
  return new ToolAnnotationsValue(
    readOnly,
    hint(annotations, 'destructiveHint') ?? !readOnly,
    hint(annotations, 'idempotentHint') ?? false,
    hint(annotations, 'openWorldHint') ?? true,
  );
}

function hint(annotations: Record<string, unknown> | undefined, key: string): boolean | undefined {
  const value = annotations?.[key];
  return typeof value === 'boolean' ? value : undefined;
}

export function celInput(
  call: ToolCall,
  args: Record<string, unknown>,
  now: Date,
  vars: Record<string, unknown>,
): CelInput {
  const { caller } = call;
  return {
    tool: toolValue(call),
    args,
    caller: new CallerValue(
      caller.id,
      caller.groups,
      caller.client ? new ClientValue(caller.client.name, caller.client.version) : undefined,
      caller.transport,
    ),
    now,
    request: new RequestValue(call.requestId),
    vars,
  };
}
