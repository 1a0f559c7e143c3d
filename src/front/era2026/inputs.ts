import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  ErrorCode,
  McpError,
  type ClientCapabilities,
  type LoggingLevel,
  type Notification,
  type Request,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import { canonicalJson } from '../../approvals/digest.js';
import { GatehouseError } from '../../errors.js';
import { missingCapability, passesLevel } from '../relay.js';
import { INPUT_METHODS } from '../../shared/modern.js';

/*
 * A legacy server's requests to the client (sampling, elicitation, roots) during a 2026-07-28 client's
 * call, carried the modern way (basic/patterns/mrtr.mdx): the call is answered with an
 * InputRequiredResult holding the server's requests and a sealed `requestState`; the client retries
 * the same call with its `inputResponses` and that state; Gatehouse answers the server, whose call
 * was held open meanwhile, and answers the retry with what comes next (the result, or more requests).
 *
 * `requestState` is attacker-controlled: it is an HMAC-sealed record of the held call, the caller it
 * belongs to, a digest of the request it may resume, and an expiry, with a key that never leaves this
 * process (a restart ends held calls anyway: their server's call is gone).
 */

type Respond = { resolve(result: Result): void; reject(error: Error): void };

/** How a server's notifications about the call reach the client of its current request. */
interface Told {
  notify(notification: { method: string; params?: Record<string, unknown> }): void;
  /** The request's `io.modelcontextprotocol/logLevel`: without one, no log reaches the client. */
  logLevel?: LoggingLevel;
}

interface Held extends Told {
  callerId: string;
  /** The digest a retry must match, computed only when a requestState is sealed. */
  digest: () => string;
  capabilities: ClientCapabilities;
  /** The call's own signal: aborted when the client cancels whichever request currently carries it. */
  controller: AbortController;
  /** Requests of the server not yet answered, by the key the client answers them under. */
  pending: Map<string, { request: { method: string; params?: unknown }; respond: Respond }>;
  outcome?: { ok: true; result: Result } | { ok: false; error: unknown };
  wake?: () => void;
  timer?: NodeJS.Timeout;
  nextKey: number;
}

export interface InputBridgeOptions {
  /** How long a client has to retry before the held call is cancelled. */
  holdMs: number;
}

/** The digest a retry must match: the method and its params, without the MRTR fields. */
export function requestDigest(method: string, params: Record<string, unknown>): string {
  const { requestState: _s, inputResponses: _r, _meta: _m, ...salient } = params;
  return createHash('sha256')
    .update(canonicalJson({ method, params: salient }))
    .digest('base64url');
}

export function createInputBridge(options: InputBridgeOptions) {
  const key = randomBytes(32);
  const held = new Map<string, Held>();

  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest();

  function seal(id: string, entry: Held): string {
    const payload = Buffer.from(
      JSON.stringify({
        id,
        caller: entry.callerId,
        digest: entry.digest(),
        expires: Date.now() + options.holdMs,
      }),
    ).toString('base64url');
    return `${payload}.${mac(payload).toString('base64url')}`;
  }

  /** The held call a requestState names, checked: intact, unexpired, this caller's, this request's. */
  function unseal(state: unknown, callerId: string, digest: string): { id: string; entry: Held } {
    const refuse = (why: string) =>
      new McpError(ErrorCode.InvalidParams, `Invalid requestState: ${why}; call again without it`);
    if (typeof state !== 'string') throw refuse('not a string');
    const [payload, signature] = state.split('.');
    if (!payload || !signature) throw refuse('not one Gatehouse issued');
    const expected = mac(payload);
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw refuse('not one Gatehouse issued');
    const claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      id: string;
      caller: string;
      digest: string;
      expires: number;
    };
    if (claim.caller !== callerId) throw refuse('issued to another caller');
    if (claim.digest !== digest) throw refuse('issued for another request (its name or arguments differ)');
    if (claim.expires <= Date.now()) throw refuse('expired');
    const entry = held.get(claim.id);
    if (!entry)
      throw refuse('the call it continues has ended (cancelled, timed out, or Gatehouse restarted)');
    return { id: claim.id, entry };
  }

  function end(id: string, entry: Held): void {
    clearTimeout(entry.timer);
    held.delete(id);
  }

  /** Follows the call until it has a result (returned) or requests for the client (an InputRequiredResult). */
  async function next(id: string, entry: Held, signal: AbortSignal): Promise<Result> {
    const onAbort = () => entry.controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (entry.outcome) {
          end(id, entry);
          if (entry.outcome.ok) return entry.outcome.result;
          throw entry.outcome.error;
        }
        if (entry.pending.size > 0) {
          // The client has this long to come back; then the call is cancelled as if it had.
          clearTimeout(entry.timer);
          entry.timer = setTimeout(() => expire(id, entry), options.holdMs);
          entry.timer.unref();
          return {
            resultType: 'input_required',
            inputRequests: Object.fromEntries([...entry.pending].map(([k, p]) => [k, p.request])),
            requestState: seal(id, entry),
          };
        }
        await new Promise<void>((wake) => (entry.wake = wake));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  function expire(id: string, entry: Held): void {
    const error = new GatehouseError(
      'CLIENT_CANCELLED',
      'the client did not answer the input requests in time',
    );
    for (const { respond } of entry.pending.values()) respond.reject(error);
    entry.pending.clear();
    entry.controller.abort(error);
    end(id, entry);
  }

  return {
    /**
     * Runs a modern request whose server may ask the client for something. `id` is the requester's
     * id (the one the server's requests are routed by).
     */
    start(
      id: string,
      request: Told & { callerId: string; digest: () => string; capabilities: ClientCapabilities },
      signal: AbortSignal,
      /** The call; `notify` reaches the request that carries it now (the first, then each retry). */
      run: (signal: AbortSignal, notify: Told['notify']) => Promise<Result>,
    ): Promise<Result> {
      const entry: Held = { ...request, controller: new AbortController(), pending: new Map(), nextKey: 0 };
      held.set(id, entry);
      run(entry.controller.signal, (notification) => entry.notify(notification))
        .then(
          (result) => (entry.outcome = { ok: true, result }),
          (error: unknown) => (entry.outcome = { ok: false, error }),
        )
        .finally(() => entry.wake?.());
      return next(id, entry, signal);
    },

    /** A retry: its responses go to the server, and it is answered with what comes next. */
    async resume(
      state: unknown,
      request: Told & { callerId: string; digest: string },
      responses: unknown,
      signal: AbortSignal,
    ): Promise<Result> {
      const { id, entry } = unseal(state, request.callerId, request.digest);
      // From now on the call's notifications belong on the retry's stream, at its log level.
      entry.notify = request.notify;
      entry.logLevel = request.logLevel;
      const given =
        typeof responses === 'object' && responses !== null ? (responses as Record<string, unknown>) : {};
      for (const [k, pending] of [...entry.pending]) {
        const response = given[k];
        if (typeof response !== 'object' || response === null) continue;
        entry.pending.delete(k);
        pending.respond.resolve(response as Result);
      }
      return next(id, entry, signal);
    },

    /**
     * A server's notification about requester `id`'s call, on the stream of the request that carries
     * it now: logs only at or above the level that request asked for (never without one), anything
     * else as the server sent it. False when no modern call has that id.
     */
    tell(id: string, notification: Notification): boolean {
      const entry = held.get(id);
      if (!entry) return false;
      if (notification.method === 'notifications/message') {
        const level = (notification.params as { level?: LoggingLevel } | undefined)?.level;
        if (!entry.logLevel || !passesLevel(level, entry.logLevel)) return true;
      }
      entry.notify(notification as { method: string; params?: Record<string, unknown> });
      return true;
    },

    /** Whether the server requests of requester `id` can travel as input requests. */
    holds: (id: string): boolean => held.has(id) && !held.get(id)!.outcome,

    /** A server's request for the client of requester `id`: answered once the client retries with it. */
    ask(id: string, request: Request, signal?: AbortSignal): Promise<Result> {
      const entry = held.get(id);
      if (!entry)
        throw new GatehouseError(
          'ROUTING_AMBIGUOUS',
          `the client request this ${request.method} belongs to has ended`,
        );
      const missing = INPUT_METHODS.has(request.method)
        ? missingCapability(entry.capabilities, request)
        : `${request.method} (it cannot travel as an input request)`;
      if (missing) {
        throw new GatehouseError(
          'CLIENT_CAPABILITY_MISSING',
          `Method not found: the client did not declare ${missing} on its request`,
        );
      }
      const k = `${request.method}-${++entry.nextKey}`;
      return new Promise<Result>((resolve, reject) => {
        entry.pending.set(k, {
          request: { method: request.method, ...(request.params ? { params: request.params } : {}) },
          respond: { resolve, reject },
        });
        signal?.addEventListener(
          'abort',
          () => {
            entry.pending.delete(k);
            reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled by the server'));
          },
          { once: true },
        );
        entry.wake?.();
      });
    },

    /** Modern calls under way that a server may still ask something. */
    get size() {
      return held.size;
    },
    /** Of those, the ones waiting for the client to retry with its input. */
    get waiting() {
      let count = 0;
      for (const entry of held.values()) if (entry.pending.size > 0) count += 1;
      return count;
    },
  };
}

export type InputBridge = ReturnType<typeof createInputBridge>;
