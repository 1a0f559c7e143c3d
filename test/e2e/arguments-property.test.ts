import path from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { HOSTILE_KEYS } from '../../src/decision/testkit.js';
import { createLogger } from '../../src/log.js';
import type * as InputModule from '../../src/decision/input.js';
import { serve, type Gatehouse } from '../../src/main.js';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { rawRecorderServer } from '../helpers/rawRecorder.js';

/**
 * The decision is made on exactly what the server receives (issue 7, defects 2 and 3), shown over
 * random argument shapes: hostile keys at every depth, numbers at the edges of JSON and of doubles,
 * deep and wide values within the limits. Every call checks that (a) the arguments the rules read
 * are byte for byte those the server received, and those the client sent; (b) no rule fails on a
 * key name: the call is decided by `x` alone; (c) a number JSON cannot carry is refused before any
 * rule runs, naming its path, and never reaches the server.
 *
 * The path is Gatehouse's own: JSON-RPC lines written as raw text into its stdio front (so a number
 * can be written `1e400` or `-0`, as a client may), decided by a policy whose rules read `args` in
 * several ways, and forwarded to a child process that records each frame's bytes as they arrived.
 * What the rules read is recorded where the rules get it, the CEL input the decision builds (a
 * wrapper around `celInput`), and serialised faithfully (a Map as an object, -0 as -0, Infinity as
 * Infinity), so any difference from the server's bytes shows.
 */

const seen = vi.hoisted(() => ({ args: [] as unknown[] }));
vi.mock('../../src/decision/input.js', async (importOriginal) => {
  const input = await importOriginal<typeof InputModule>();
  return {
    ...input,
    celInput: (...params: Parameters<typeof input.celInput>) => {
      const built = input.celInput(...params);
      seen.args.push(built.args);
      return built;
    },
  };
});

/** Numbers as a client may write them: the edges of JSON and of doubles, and ones that overflow. */
const EDGE_NUMBERS = [
  '0',
  '-0',
  '-0.0',
  '0e10',
  '9007199254740991',
  '9007199254740993',
  '-9007199254740993',
  '123456789012345678901234567890',
  '1e308',
  '-1e308',
  '1.7976931348623157e308',
  '1.7976931348623158e308', // rounds to the largest double
  '5e-324',
  '2.5e-324', // rounds to 5e-324
  '1e-400', // underflows to 0
  '-1e-400', // underflows to -0
  '2.2250738585072014e-308',
  '0.1',
  '1E2',
  '1e400',
  '-1e400',
  '1e999999',
  '17976931348623159e292', // just past the largest double
];

const key = fc.oneof(
  fc.constantFrom(...HOSTILE_KEYS),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
);
const numberText = fc.oneof(
  fc.constantFrom(...EDGE_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
);
const leaf = fc.oneof(
  numberText,
  fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null'),
);

/** JSON text of a value: objects written by hand, so keys repeat and numbers keep their spelling. */
const { value } = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(key, tie('value')), { maxLength: 4 })
      .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
}));

/** Within the limits (each level is an object and a list: at most 57 of 64), far beyond the random shapes. */
const deep = fc
  .tuple(fc.integer({ min: 10, max: 28 }), key, leaf)
  .map(([depth, k, v]) => `${`{${JSON.stringify(k)}:[`.repeat(depth)}${v}${']}'.repeat(depth)}`);
const wide = fc
  .tuple(fc.array(key, { minLength: 100, maxLength: 300 }), leaf)
  .map(([keys, v]) => `{${keys.map((k, i) => `${JSON.stringify(`${k}${i}`)}:${v}`).join(',')}}`);

/** The arguments: random entries, and maybe `x`, last so a random `x` key never hides it. */
const argumentsText = fc
  .tuple(
    fc.array(fc.tuple(key, fc.oneof({ weight: 6, arbitrary: value }, deep, wide)), { maxLength: 6 }),
    fc.option(numberText, { nil: undefined }),
  )
  .map(([entries, x]) => {
    const all = x === undefined ? entries : [...entries, ['x', x] as const];
    return `{${all.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  });

const POLICY = `
default: deny
rules:
  - id: x-over-5
    match: { servers: raw, tools: op }
    when: has(args.x) && args.x > 5
    effect: deny
    reason: x is over 5
  - id: reads-every-key
    match: { servers: raw, tools: op }
    when: >
      size(args) >= 0 && args.all(k, k == k && (k in args)) &&
      args.all(k, type(args[k]) != map || args[k].all(j, type(args[k][j]) == type(args[k][j]))) &&
      args.all(k, type(args[k]) != list || size(args[k]) >= 0) &&
      !args.exists(k, k == "\\u0001never")
    effect: allow
`;

/** What the rules read, as JSON text; -0 and non-finite numbers as themselves, so they cannot hide. */
function celJson(v: unknown): string {
  if (v instanceof Map)
    return `{${[...v].map(([k, item]) => `${JSON.stringify(k)}:${celJson(item)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(celJson).join(',')}]`;
  if (typeof v === 'number') return Object.is(v, -0) || !Number.isFinite(v) ? String(v) : JSON.stringify(v);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'object') return celJson(new Map(Object.entries(v)));
  throw new Error(`the rules read a ${typeof v}: ${String(v)}`);
}

/** The first non-finite number in the order Gatehouse walks (JSON order, depth first), with its path. */
function firstNonFinite(v: unknown, at = 'arguments'): { at: string; value: number } | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : { at, value: v };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = firstNonFinite(v[i], `${at}[${i}]`);
      if (found) return found;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      const segment = /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
      const found = firstNonFinite((v as Record<string, unknown>)[k], at + segment);
      if (found) return found;
    }
  }
  return undefined;
}

/** A JSON-RPC client that writes raw lines into Gatehouse's stdio front and reads its answers. */
function rawClient(stdin: PassThrough, stdout: PassThrough) {
  const waiting = new Map<number, (message: Record<string, unknown>) => void>();
  let buffered = '';
  stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const message = JSON.parse(buffered.slice(0, end)) as Record<string, unknown>;
      buffered = buffered.slice(end + 1);
      if (typeof message.id === 'number') waiting.get(message.id)?.(message);
    }
  });
  let next = 1;
  return {
    /** Sends `{"jsonrpc":"2.0","id":…,"method":…,"params":<paramsText>}` and resolves with the answer. */
    request(method: string, paramsText: string): Promise<Record<string, unknown>> {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        stdin.write(
          `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${paramsText}}\n`,
        );
      });
    },
    notify(method: string) {
      stdin.write(`{"jsonrpc":"2.0","method":${JSON.stringify(method)}}\n`);
    },
  };
}

const scratch = scratchDir('arguments-property');
const recorder = rawRecorderServer(path.join(scratch.dir, 'frames.jsonl'));
let gatehouse: Gatehouse;
let client: ReturnType<typeof rawClient>;
const stdin = new PassThrough();
const stdout = new PassThrough();

beforeAll(async () => {
  scratch.write('policies/op.yaml', POLICY);
  const config = loadConfig(
    scratch.write(
      'config.json',
      gatehouseConfig(
        { raw: recorder.server },
        { policies: path.join(scratch.dir, 'policies'), log: { level: 'error' } },
      ),
    ),
  );
  const logger = createLogger({ level: 'error', file: path.join(scratch.dir, 'gatehouse.log') });
  gatehouse = await serve({ config, logger, http: false, stdin, stdout });
  client = rawClient(stdin, stdout);
  await client.request(
    'initialize',
    '{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}',
  );
  client.notify('notifications/initialized');
});
afterAll(async () => {
  stdin.end();
  await gatehouse?.stopped;
  scratch.remove();
});

/** Calls `raw__op` with the arguments written as `text`; what the rules read and what the server got. */
async function call(text: string) {
  seen.args.length = 0;
  const before = recorder.received().length;
  const answer = await client.request('tools/call', `{"name":"raw__op","arguments":${text}}`);
  const frames = recorder.received().slice(before);
  expect(seen.args.length, 'one decision per call').toBeLessThanOrEqual(1);
  const result = answer.result as { isError?: boolean; content: { text: string }[] } | undefined;
  expect(result, `a tool result, not ${JSON.stringify(answer.error)}`).toBeDefined();
  return {
    result: result!,
    text: result!.content.map((c) => c.text).join('\n'),
    ruleArgs: seen.args[0],
    frame: frames[0],
    frames: frames.length,
  };
}

describe('arguments through a real Gatehouse', () => {
  it('the rules decide on the bytes the server receives; no key name fails a rule; non-finite numbers are refused by path', async () => {
    await fc.assert(
      fc.asyncProperty(argumentsText, async (text) => {
        const sent = JSON.parse(text) as Record<string, unknown>;
        const { result, text: said, ruleArgs, frame, frames } = await call(text);

        const nonFinite = firstNonFinite(sent);
        if (nonFinite) {
          // (c) refused before any rule ran, naming the path and why; the server never saw it.
          expect(result.isError).toBe(true);
          expect(said).toContain(`${nonFinite.at} is ${nonFinite.value} (`);
          expect(said).toContain('has no JSON form');
          expect(ruleArgs).toBeUndefined();
          expect(frames).toBe(0);
          return;
        }
        // (b) no rule failed on any key: the call is decided by x alone.
        const x = sent.x;
        const denied = typeof x === 'number' && x > 5;
        expect(said).not.toContain('failed to evaluate');
        expect(result.isError === true, said).toBe(denied);
        // The rules read the arguments the client sent, every key included (`__proto__` at the top too).
        expect(celJson(ruleArgs)).toBe(JSON.stringify(sent));
        if (denied) {
          expect(said).toContain('x is over 5');
          expect(frames).toBe(0);
          return;
        }
        // (a) the arguments the rules read are byte for byte the arguments the server received.
        expect(frames).toBe(1);
        const received = JSON.stringify(
          (JSON.parse(frame!.frame) as { params: { arguments: unknown } }).params.arguments,
        );
        expect(frame!.frame).toContain(`"arguments":${received}`);
        expect(celJson(ruleArgs)).toBe(received);
        expect(received).toBe(JSON.stringify(sent));
      }),
      { numRuns: 200 },
    );
  });
});
