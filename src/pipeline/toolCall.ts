import { CallToolRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isObject } from '../shared/json.js';

/**
 * tools/call as the SDK defines it, except that `arguments` is kept as received. The SDK's record
 * schema rebuilds the object and silently drops a key named `__proto__`, so neither the rules nor the
 * server would see an argument the client sent. Keeping the client's own object (JSON.parse makes
 * `__proto__` an ordinary own key) also means the rules read, and the server receives, one object.
 */
export const CallToolRequestAsSentSchema = CallToolRequestSchema.extend({
  params: CallToolRequestSchema.shape.params.extend({
    arguments: z.custom<Record<string, unknown>>(isObject, 'arguments must be an object').optional(),
  }),
});

/** Who is asking: the identity behind the client session that sent the call. */
export interface Caller {
  /** Stable principal id (a configured user, a token's subject, or the OS user on stdio). */
  id: string;
  groups: readonly string[];
  client?: { name: string; version: string };
  transport: 'stdio' | 'http';
}

/** One tools/call as the decision point sees it: routed, but not yet executed. */
export interface ToolCall {
  /** Gatehouse's id for this call (unique per call, used in logs, audit and approvals). */
  requestId: string;
  /** Downstream server name, as in the config. */
  server: string;
  /** The tool's own name on its server. */
  tool: string;
  /** The name the client sees (prefix, sanitised, maybe hashed). */
  exposedName: string;
  arguments: Record<string, unknown>;
  caller: Caller;
  /** The tool definition as the downstream server published it. */
  definition: Tool;
}
