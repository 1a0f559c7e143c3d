import type { Tool } from '@modelcontextprotocol/sdk/types.js';

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
