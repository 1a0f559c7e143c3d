import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isObject } from '../shared/json.js';
import type { ToolCall } from '../pipeline/toolCall.js';

/**
 * A tool call as a person writes it for `policy eval --call` and in policy test cases: only server,
 * tool and arguments are needed; the rest gets defaults a policy can still tell apart.
 */
export const CallInputSchema = z.strictObject({
  server: z.string().min(1),
  tool: z.string().min(1),
  exposedName: z.string().min(1).optional(),
  // Taken as written, not rebuilt: a record schema would drop a key named `__proto__`.
  arguments: z.custom<Record<string, unknown>>(isObject, 'expected an object of arguments').default({}),
  caller: z
    .strictObject({
      id: z.string().min(1),
      groups: z.array(z.string()).default([]),
      client: z.strictObject({ name: z.string(), version: z.string() }).optional(),
      transport: z.enum(['stdio', 'http']).default('stdio'),
    })
    .default({ id: 'anonymous', groups: [], transport: 'stdio' }),
  /** The tool as its server publishes it; only description and annotations matter to policies. */
  definition: z
    .looseObject({
      description: z.string().optional(),
      annotations: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  requestId: z.string().min(1).optional(),
  /** RFC 3339; default: the time of evaluation. */
  now: z.iso.datetime({ offset: true }).optional(),
});

export type CallInput = z.infer<typeof CallInputSchema>;

export function toToolCall(input: CallInput): { call: ToolCall; now: Date } {
  const call: ToolCall = {
    requestId: input.requestId ?? randomUUID(),
    server: input.server,
    tool: input.tool,
    exposedName: input.exposedName ?? `${input.server}__${input.tool}`,
    arguments: input.arguments,
    caller: input.caller,
    definition: { inputSchema: { type: 'object' }, ...input.definition, name: input.tool },
  };
  return { call, now: input.now ? new Date(input.now) : new Date() };
}
