import { z } from 'zod';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Where a value is not JSON (a non-finite number, undefined, a function, a class instance), as a path
 * such as `$.a[2].b`; undefined when it is JSON all through.
 */
export function notJsonAt(value: unknown, path = '$'): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : path;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const bad = notJsonAt(value[i], `${path}[${i}]`);
          if (bad) return bad;
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return path;
      for (const key of Object.keys(value)) {
        const bad = notJsonAt((value as Record<string, unknown>)[key], `${path}[${JSON.stringify(key)}]`);
        if (bad) return bad;
      }
      return undefined;
    }
    default:
      return path;
  }
}

/**
 * A JSON object, validated but kept as it is. zod's record schema rebuilds objects and silently drops
 * a key named `__proto__` (JSON.parse makes it an ordinary own key), so a stored call would lose an
 * argument the client sent, and no longer match its digest.
 */
export const JsonObjectAsIs = z.custom<JsonObject>((value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return notJsonAt(value) === undefined;
}, 'a JSON object (finite numbers, no undefined)');

/**
 * A copy in which every number JSON cannot carry (±Infinity, NaN) is a string naming it, for records
 * of calls that were refused for holding one: they are kept, and say what was sent.
 */
export function withNonFiniteNamed(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : `[non-finite number: ${value}]`;
  if (Array.isArray(value)) return value.map(withNonFiniteNamed);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      // defineProperty, not assignment: a key named __proto__ stays data.
      Object.defineProperty(copy, key, {
        value: withNonFiniteNamed((value as Record<string, unknown>)[key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return value;
}

/** A plain JSON-like object: not null, not an array. */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
