import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { isObject } from '../shared/json.js';

/**
 * What the client is told Gatehouse can do: the union of what the ready downstream servers declare.
 *
 * Gatehouse states what it serves itself: tools, and prompts and resources while any server offers
 * them, each with `listChanged` (it tells clients when a server restarts); `subscribe` when any server
 * takes subscriptions; tasks are its own (front/tasks.ts). Everything else a server declares passes on:
 * capabilities this version does not know, fields inside the ones it knows, `experimental` and
 * `extensions`. Declarations of several servers merge in configuration order, objects key by key, and
 * where two servers give different non-object values for one key the first server's stands.
 */
export function unionCapabilities(declared: readonly ServerCapabilities[]): ServerCapabilities {
  const { tasks: _own, ...merged } = mergeDeclarations(declared) as ServerCapabilities;
  const caps: ServerCapabilities = { ...merged, tools: { ...merged.tools, listChanged: true } };
  if (merged.resources) {
    caps.resources = { ...merged.resources, listChanged: true };
    if (declared.some((c) => c.resources?.subscribe)) caps.resources.subscribe = true;
  }
  if (merged.prompts) caps.prompts = { ...merged.prompts, listChanged: true };
  return caps;
}

type Json = Record<string, unknown>;

/** Objects merged key by key, recursively; for anything else the first value stands. */
export function mergeDeclarations(values: readonly unknown[]): Json {
  const out: Json = {};
  for (const value of values) {
    if (!isObject(value)) continue;
    for (const [key, item] of Object.entries(value)) {
      const held = out[key];
      if (held === undefined) out[key] = isObject(item) ? mergeDeclarations([item]) : item;
      else if (isObject(held) && isObject(item)) out[key] = mergeDeclarations([held, item]);
    }
  }
  return out;
}
