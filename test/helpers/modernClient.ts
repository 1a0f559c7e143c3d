import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createParser } from 'eventsource-parser';
import { REPO } from './paths.js';
import type { Frame, Json } from './rawClient.js';

/**
 * A 2026-07-28 client in raw JSON-RPC, written from the specification and the v2 SDK's client
 * (packages/client of modelcontextprotocol/typescript-sdk): no initialize, every request carries the
 * `_meta` envelope (protocol version, client info, client capabilities), and over HTTP the standard
 * headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name with the Base64 sentinel when a value is not
 * plain ASCII). It sees frames exactly as sent.
 */

export const MODERN = '2026-07-28';
export const TASKS = 'io.modelcontextprotocol/tasks';
/** Capabilities of a client that follows held calls as tasks. */
export const WITH_TASKS = { extensions: { [TASKS]: {} } };

export interface RequestOptions {
  id?: string | number;
  /** This request's client capabilities (the envelope is per request). */
  capabilities?: object;
  /** Replaces the envelope (`null`: none at all), to test refusals. */
  meta?: Record<string, unknown> | null;
  /** HTTP only: headers to add or (with undefined) leave out. */
  headers?: Record<string, string | undefined>;
}

export interface ModernClient {
  /** Sends a request; resolves with every frame received for it, its answer last. */
  request(method: string, params?: Record<string, unknown>, options?: RequestOptions): Promise<Frame[]>;
  /** `request`, cancellable: stdio sends notifications/cancelled, HTTP closes the response stream. */
  send(
    method: string,
    params?: Record<string, unknown>,
    options?: RequestOptions,
  ): { id: string | number; frames: Promise<Frame[]>; cancel(): Promise<void>; received: Frame[] };
  /** The answer's result, or throws with the error. */
  call(method: string, params?: Record<string, unknown>, options?: RequestOptions): Promise<Json>;
  close(): Promise<void>;
  /** HTTP: the status of the last response; stdio: undefined. */
  lastStatus?: number;
  /** stdio: the process spoken to (the benchmarks read its CPU time); HTTP: undefined. */
  pid?: number;
  allFrames: Frame[];
  stderr(): string;
}

let nextId = 0;
const newId = () => `era-${++nextId}`;

export function envelope(capabilities: object = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN,
    'io.modelcontextprotocol/clientInfo': { name: 'era-test-client', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  };
}

function paramsWithMeta(params: Record<string, unknown> | undefined, options: RequestOptions) {
  const meta =
    options.meta === null
      ? undefined
      : { ...(params?._meta as object | undefined), ...(options.meta ?? envelope(options.capabilities)) };
  const { _meta: _given, ...rest } = params ?? {};
  return meta ? { ...rest, _meta: meta } : rest;
}

const answered = (frame: Frame, id: string | number) =>
  frame.method === undefined && frame.id === id && ('result' in frame || 'error' in frame);

function resultOf(frames: Frame[]): Json {
  const last = frames[frames.length - 1]!;
  if (last.error) throw Object.assign(new Error(`${last.error.code}: ${last.error.message}`), last.error);
  return last.result;
}

/** A modern client of a process on stdio (Gatehouse with `serve`). */
export function modernStdioClient(command: string, args: string[], env: NodeJS.ProcessEnv): ModernClient {
  const child = spawn(command, args, { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const allFrames: Frame[] = [];
  const open = new Set<{ id: string | number; frames: Frame[]; done: (frames: Frame[]) => void }>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const write = (frame: object) => child.stdin.write(`${JSON.stringify(frame)}\n`);
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    const frame = JSON.parse(line) as Frame;
    allFrames.push(frame);
    for (const request of open) {
      // stdio has no per-request streams: a notification that names no subscription is about the
      // requests open when it came (tests keep one open at a time when they look at them).
      const subscription = frame.params?._meta?.['io.modelcontextprotocol/subscriptionId'];
      const ours =
        answered(frame, request.id) ||
        subscription === request.id ||
        (frame.method !== undefined && frame.id === undefined && subscription === undefined);
      if (!ours) continue;
      request.frames.push(frame);
      if (answered(frame, request.id)) {
        open.delete(request);
        request.done(request.frames);
      }
    }
  });
  const send = (method: string, params?: Record<string, unknown>, options: RequestOptions = {}) => {
    const id = options.id ?? newId();
    const received: Frame[] = [];
    const frames = new Promise<Frame[]>((done, fail) => {
      open.add({ id, frames: received, done });
      void exited.then(() => fail(new Error(`the process exited; stderr:\n${stderr}`)));
      write({ jsonrpc: '2.0', id, method, params: paramsWithMeta(params, options) });
    });
    frames.catch(() => undefined);
    const cancel = async () =>
      void write({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: id, reason: 'test' },
      });
    return { id, frames, cancel, received };
  };
  return {
    pid: child.pid,
    send,
    request: (method, params, options) => send(method, params, options).frames,
    call: async (method, params, options) => resultOf(await send(method, params, options).frames),
    allFrames,
    stderr: () => stderr,
    async close() {
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A header value as the spec encodes it: plain when it is visible ASCII, the Base64 sentinel otherwise. */
export function headerValue(value: string): string {
  const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && !/^=\?base64\?.*\?=$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** A modern client over Streamable HTTP, with `token` as its bearer token when given. */
export function modernHttpClient(url: string, { token }: { token?: string } = {}): ModernClient {
  const allFrames: Frame[] = [];
  const aborts = new Set<AbortController>();
  const client: ModernClient = {
    allFrames,
    stderr: () => '',
    send(method, params, options = {}) {
      const id = options.id ?? newId();
      const body = { jsonrpc: '2.0', id, method, params: paramsWithMeta(params, options) };
      const name = params?.name ?? params?.uri ?? params?.taskId;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': method,
        ...(typeof name === 'string' ? { 'mcp-name': headerValue(name) } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      };
      for (const [key, value] of Object.entries(options.headers ?? {})) {
        if (value === undefined) delete headers[key.toLowerCase()];
        else headers[key.toLowerCase()] = value;
      }
      const controller = new AbortController();
      aborts.add(controller);
      const received: Frame[] = [];
      const frames = (async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: controller.signal,
        });
        client.lastStatus = response.status;
        if (response.headers.get('content-type')?.startsWith('application/json')) {
          const frame = (await response.json()) as Frame;
          allFrames.push(frame);
          received.push(frame);
          return received;
        }
        if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
          throw new Error(`HTTP ${response.status}: ${await response.text()}`);
        }
        const parser = createParser({
          onEvent: (event) => {
            if (!event.data) return;
            const frame = JSON.parse(event.data) as Frame;
            allFrames.push(frame);
            received.push(frame);
          },
        });
        const decoder = new TextDecoder();
        for await (const chunk of response.body!)
          parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        return received;
      })().finally(() => aborts.delete(controller));
      frames.catch(() => undefined);
      return { id, frames, received, cancel: async () => controller.abort() };
    },
    request: (method, params, options) => client.send(method, params, options).frames,
    call: async (method, params, options) => resultOf(await client.send(method, params, options).frames),
    async close() {
      for (const controller of aborts) controller.abort();
    },
  };
  return client;
}
