import { isDeepStrictEqual } from 'node:util';
import type { ToolDefinition } from './request.js';
import { isObject } from '../shared/json.js';

/**
 * What changed between two definitions of a tool, for approvers: one entry per description or
 * input-schema path whose value differs, with the value before and after (absent where the key is
 * not there). Objects are compared key by key; any other value (arrays too) as a whole.
 */
export interface DefinitionChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

export function diffDefinitions(before: ToolDefinition, after: ToolDefinition): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  walk('name', before.name, after.name, changes);
  walk('description', before.description, after.description, changes);
  walk('inputSchema', before.inputSchema, after.inputSchema, changes);
  return changes;
}

function walk(path: string, before: unknown, after: unknown, changes: DefinitionChange[]): void {
  if (isDeepStrictEqual(before, after)) return;
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) walk(child(path, key), before[key], after[key], changes);
    return;
  }
  changes.push({
    path,
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  });
}

function child(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
