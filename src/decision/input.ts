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

class LimitExceeded extends Error {}

/**
 * One pass over the arguments measuring depth and approximate JSON size. It stops at the first bound
 * crossed, so a 50 MB or 10,000-deep argument costs no more than the limit itself.
 */
export function checkArguments(args: Record<string, unknown>, limits: PolicyLimits): PreparedArguments {
  let budget = limits.maxArgumentBytes;
  const spend = (bytes: number): void => {
    budget -= bytes;
    if (budget < 0) throw new LimitExceeded(`the arguments are larger than ${limits.maxArgumentBytes} bytes`);
  };

  const visit = (value: unknown, depth: number): void => {
    switch (typeof value) {
      case 'string':
        // A string's UTF-8 length is at least its UTF-16 length: check that before measuring it.
        spend(value.length + 2);
        if (value.length * 3 > budget) spend(Buffer.byteLength(value) - value.length);
        return;
      case 'number':
      case 'boolean':
        return spend(8);
      case 'object': {
        if (value === null) return spend(4);
        if (depth >= limits.maxArgumentDepth) {
          throw new LimitExceeded(`the arguments are nested deeper than ${limits.maxArgumentDepth} levels`);
        }
        spend(2);
        if (Array.isArray(value)) {
          for (const item of value) {
            spend(1);
            visit(item, depth + 1);
          }
          return;
        }
        for (const key of Object.keys(value)) {
          spend(key.length + 4);
          visit((value as Record<string, unknown>)[key], depth + 1);
        }
        return;
      }
      default:
        throw new LimitExceeded(`the arguments hold a ${typeof value}, which JSON cannot carry`);
    }
  };

  try {
    visit(args, 0);
    return { ok: true };
  } catch (error) {
    if (error instanceof LimitExceeded) return { ok: false, reason: error.message };
    throw error;
  }
}

export interface CelInput {
  tool: ToolValue;
  args: Record<string, unknown>;
  caller: CallerValue;
  now: Date;
  request: RequestValue;
  vars: Record<string, unknown>;
}

export function toolValue(tool: Pick<ToolCall, 'server' | 'tool' | 'exposedName' | 'definition'>): ToolValue {
  return new ToolValue(
    tool.tool,
    tool.server,
    tool.exposedName,
    tool.definition.description ?? '',
    annotationsValue(tool.definition.annotations),
  );
}

/**
 * Absent hints take MCP's documented defaults (readOnly false, destructive true unless read-only,
 * idempotent false, openWorld true), so a policy reads the same meaning the spec gives them.
 * Anything but a boolean counts as absent: the hints come from the downstream server.
 */
function annotationsValue(annotations: Record<string, unknown> | undefined): ToolAnnotationsValue {
  const hint = (key: string): boolean | undefined => {
    const value = annotations?.[key];
    return typeof value === 'boolean' ? value : undefined;
  };
  const readOnly = hint('readOnlyHint') ?? false;
  return new ToolAnnotationsValue(
    readOnly,
    hint('destructiveHint') ?? !readOnly,
    hint('idempotentHint') ?? false,
    hint('openWorldHint') ?? true,
  );
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
