import type { ToolCall } from '../pipeline/toolCall.js';
import { CallerValue, ClientValue, RequestValue, ToolAnnotationsValue, ToolValue } from './env.js';
import type { PolicyLimits } from './options.js';

/**
 * Turns a call into CEL input, after checking the argument limits before any rule runs. Every value
 * that crosses from JSON into CEL goes through `convert`: the arguments per call, the vars once per
 * load.
 *
 * Numbers: JSON has one number type, so arguments arrive as doubles, as in cel-go. CEL compares
 * ints and doubles by value (`args.rows > 1000`, `args.rows == 1000`, `args.n in [1, 2]` all work),
 * and env.ts adds int/double arithmetic (`args.rows + 1`); only `%` needs `int(args.rows) % 2`.
 */

export type PreparedArguments =
  | { ok: true; args: ReadonlyMap<string, unknown> }
  | {
      ok: false;
      reason: string;
      /**
       * The arguments hold a value JSON cannot carry (a number that overflowed to ±Infinity, for one):
       * the server could never receive what a rule would read, so the call is refused in every mode.
       */
      unrepresentable: boolean;
    };

/**
 * One pass over the arguments that checks the bounds and builds the value the rules read. It stops at
 * the first bound crossed, so a 50 MB or 10,000-deep argument costs no more than the limit itself.
 *
 * Objects become Maps: cel-js types a JavaScript value by its `constructor` property, so a plain
 * object with a key named `constructor` would read as an unsupported type and fail every rule that
 * touches it. A Map keeps every key as data (`constructor`, `__proto__`, the empty string, NUL), in
 * the order JSON.stringify writes them. `-0` becomes `0`, which is what the server receives.
 */
export function prepareArguments(args: Record<string, unknown>, limits: PolicyLimits): PreparedArguments {
  const walk = newWalk(limits.maxArgumentBytes, limits.maxArgumentDepth);
  const value = convert(args, 0, walk);
  if (value !== FAILED) return { ok: true, args: value as ReadonlyMap<string, unknown> };
  if (walk.fault === 'depth')
    return {
      ok: false,
      reason: `the arguments are nested deeper than ${limits.maxArgumentDepth} levels`,
      unrepresentable: false,
    };
  if (walk.fault === 'size')
    return {
      ok: false,
      reason: `the arguments are larger than ${limits.maxArgumentBytes} bytes`,
      unrepresentable: false,
    };
  return { ok: false, reason: describeFault(walk, 'arguments'), unrepresentable: true };
}

/**
 * The configured vars as CEL reads them (Maps, as for arguments), or why they cannot be: a value
 * that has no JSON form. No size bounds: the operator wrote them.
 */
export function prepareVars(
  vars: Record<string, unknown>,
): { ok: true; vars: ReadonlyMap<string, unknown> } | { ok: false; reason: string } {
  const walk = newWalk(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  const value = convert(vars, 0, walk);
  if (value === FAILED) return { ok: false, reason: describeFault(walk, 'vars') };
  return { ok: true, vars: value as ReadonlyMap<string, unknown> };
}

const FAILED = Symbol('failed');

interface Walk {
  budget: number;
  maxDepth: number;
  /** What stopped the walk: `size`, `depth`, or `value` (then `value` holds it). */
  fault: 'size' | 'depth' | 'value' | undefined;
  value: unknown;
  /** Where the offending value is, innermost key first: filled as the walk unwinds, only on failure. */
  path: (string | number)[];
}

function newWalk(budget: number, maxDepth: number): Walk {
  return { budget, maxDepth, fault: undefined, value: undefined, path: [] };
}

/** The converted value, or FAILED. Plain recursion and no closures: this runs on every call. */
function convert(value: unknown, depth: number, walk: Walk): unknown {
  switch (typeof value) {
    case 'string':
      if (!charge(value, 2, walk)) return FAILED;
      return value.isWellFormed() ? value : unrepresentable(walk, value);
    case 'boolean':
      walk.budget -= 5;
      return walk.budget >= 0 ? value : tooLarge(walk);
    case 'number':
      walk.budget -= 8;
      if (walk.budget < 0) return tooLarge(walk);
      // `-0 === 0`: JSON.stringify writes both as 0, so the rules read 0 as well.
      if (value === 0) return 0;
      return Number.isFinite(value) ? value : unrepresentable(walk, value);
    case 'object': {
      if (value === null) {
        walk.budget -= 4;
        return walk.budget >= 0 ? null : tooLarge(walk);
      }
      if (depth >= walk.maxDepth) {
        walk.fault = 'depth';
        return FAILED;
      }
      walk.budget -= 2;
      if (Array.isArray(value)) return convertList(value, depth, walk);
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return unrepresentable(walk, value);
      return convertObject(value as Record<string, unknown>, depth, walk);
    }
    default:
      return unrepresentable(walk, value);
  }
}

function convertList(list: readonly unknown[], depth: number, walk: Walk): unknown {
  const out = new Array<unknown>(list.length);
  for (let i = 0; i < list.length; i++) {
    walk.budget -= 1;
    const item = walk.budget < 0 ? tooLarge(walk) : convert(list[i], depth + 1, walk);
    if (item === FAILED) {
      walk.path.push(i);
      return FAILED;
    }
    out[i] = item;
  }
  return out;
}

function convertObject(object: Record<string, unknown>, depth: number, walk: Walk): unknown {
  const out = new Map<string, unknown>();
  // Object.keys lists an own `__proto__` key (JSON.parse makes one) in JSON.stringify's order.
  const keys = Object.keys(object);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = !charge(key, 4, walk)
      ? FAILED
      : key.isWellFormed()
        ? convert(object[key], depth + 1, walk)
        : unrepresentable(walk, key);
    if (value === FAILED) {
      walk.path.push(key);
      return FAILED;
    }
    out.set(key, value);
  }
  return out;
}

/** Counts a string's JSON size (plus `extra` bytes of quotes and separators); false once over. */
function charge(text: string, extra: number, walk: Walk): boolean {
  // A string's UTF-8 length is at least its UTF-16 length: check that before measuring it.
  walk.budget -= text.length + extra;
  if (walk.budget >= 0 && text.length * 3 > walk.budget) walk.budget -= Buffer.byteLength(text) - text.length;
  if (walk.budget >= 0) return true;
  tooLarge(walk);
  return false;
}

function tooLarge(walk: Walk): typeof FAILED {
  walk.fault ??= 'size';
  return FAILED;
}

function unrepresentable(walk: Walk, value: unknown): typeof FAILED {
  walk.fault = 'value';
  walk.value = value;
  return FAILED;
}

/** `arguments.items[2].count is -Infinity: …`, in the terms of the JSON the client sent. */
function describeFault(walk: Walk, root: string): string {
  const where = root + walk.path.reduceRight<string>((at, key) => at + pathSegment(key), '');
  const value = walk.value;
  if (typeof value === 'number') {
    const outcome = root === 'arguments' ? ': the server would receive null instead' : '';
    return `${where} is ${value} (a number such as 1e400 overflows a double), which has no JSON form${outcome}`;
  }
  if (typeof value === 'string') {
    // JSON.parse accepts "\ud800"; I-JSON (RFC 7493) and canonical JSON (RFC 8785) do not, so such a
    // call could be neither digested for approval nor recorded.
    return `${where} holds a lone surrogate (such as \\ud800), which is not valid Unicode: the call cannot be recorded`;
  }
  const kind =
    typeof value === 'object'
      ? `an object of type ${Object.prototype.toString.call(value).slice(8, -1)}`
      : value === undefined
        ? 'undefined'
        : `a ${typeof value}`;
  return `${where} is ${kind}, which JSON cannot carry`;
}

function pathSegment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

export interface CelInput {
  tool: ToolValue;
  args: ReadonlyMap<string, unknown>;
  caller: CallerValue;
  now: Date;
  request: RequestValue;
  vars: ReadonlyMap<string, unknown>;
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
    // Typed `string` in CEL: anything else a server sends reads as no description.
    typeof tool.definition.description === 'string' ? tool.definition.description : '',
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
  args: ReadonlyMap<string, unknown>,
  now: Date,
  vars: ReadonlyMap<string, unknown>,
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
