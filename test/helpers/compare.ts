import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { exposedName } from '../../src/downstream/names.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const CLOCK = /\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?/g;

/**
 * Make two answers from two different sessions comparable: session ids and wall-clock times differ
 * by construction, everything else must not.
 */
export function normalize<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replace(UUID, '<uuid>').replace(CLOCK, '<time>')) as T;
}

export type Settled<T> = { result: T } | { error: { code: unknown; message: string; data?: unknown } };

/** A result or the wire error it failed with, so failures compare as values. */
export async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { result: await promise };
  } catch (error) {
    const e = error as { code?: unknown; message: string; data?: unknown };
    return { error: { code: e.code, message: e.message, ...(e.data !== undefined ? { data: e.data } : {}) } };
  }
}

/** Items of a merged list that came from one server, in a stable order. */
export function fromServer<T extends { name: string }>(items: readonly T[], prefix: string): T[] {
  return items.filter((item) => item.name.startsWith(prefix)).sort(byName);
}

/** A server's own items as Gatehouse should expose them: renamed, nothing else changed. */
export function asExposed<T extends { name: string }>(items: readonly T[], prefix: string): T[] {
  return items.map((item) => ({ ...item, name: exposedName(prefix, item.name) })).sort(byName);
}

export const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

/** The text blocks of a tool result, joined by newlines. */
export const resultText = (result: unknown) =>
  ((result as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');
