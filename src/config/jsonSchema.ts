import { z } from 'zod';
import { ConfigSchema } from './schema.js';

/** The config's JSON Schema, for editors: generated from the zod schema, never written by hand. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    title: 'Gatehouse configuration',
    description:
      'Gatehouse config: the downstream MCP servers (mcpServers, in the shape Claude Desktop, Claude Code, Cursor and VS Code use), the HTTP listener, identity, policies and limits.',
  };
}
