import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createParser } from 'eventsource-parser';
import { REPO } from './paths.js';

/**
 * A JSON-RPC client that sees the exact frames a server sends, in order: the SDK's Client parses what it
 * receives (dropping unknown fields and, when a progress notification shares a read with the result,
 * the progress), so it cannot tell what a proxy passed on. Server requests get canned answers that carry
 * unknown fields too, and are recorded among the frames.
 */

/** Whatever JSON.parse gives: a raw client reads frames as they are, without a schema. */
export type Json = ReturnType<typeof JSON.parse>;

export type Frame = {
  jsonrpc: '2.0';
  id?: string | number;
  method?: string;
  params?: Json;
  result?: Json;
  error?: Json;
};

export interface RawClient {
  initializeResult: Json;
  /** Sends a request; resolves with every frame received while it was open, its answer last. */
  request(method: string, params?: object, id?: string): Promise<Frame[]>;
  /** `request`, with the id it was sent with (a fresh one unless given). */
  send(method: string, params?: object, id?: string): { id: string; frames: Promise<Frame[]> };
  notify(method: string, params?: object): Promise<void>;
  /** Frames on no request's stream (HTTP: the GET stream; stdio: none, every frame is on the one stream). */
  sessionFrames: Frame[];
  /** Every frame received, in order (stdio: the whole stream). */
  allFrames: Frame[];
  stderr(): string;
  close(): Promise<void>;
}

export const RAW_CAPABILITIES = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
};

/** The client's answers to server requests: every one with fields no schema knows. */
export function cannedAnswer(request: Frame): object {
  switch (request.method) {
    case 'sampling/createMessage':
      return {
        model: 'probe-model',
        role: 'assistant',
        content: { type: 'text', text: 'sampled', probe: 'sampled content' },
        stopReason: 'endTurn',
        probe: 'sampling result',
      };
    case 'elicitation/create':
      return { action: 'accept', content: { name: 'Ada' }, probe: 'elicit result' };
    case 'roots/list':
      return { roots: [{ uri: 'file:///tmp', name: 'tmp', probe: 'root' }], probe: 'roots result' };
    default:
      return {};
  }
}

const isAnswerTo = (frame: Frame, id: string | number) =>
  frame.method === undefined && frame.id === id && ('result' in frame || 'error' in frame);

let nextId = 0;
const newId = () => `raw-${++nextId}`;

/** A raw client over a child's stdin and stdout (the server itself, or Gatehouse on stdio). */
export async function rawStdioClient(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RawClient> {
  const child = spawn(command, args, { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const allFrames: Frame[] = [];
  const open = new Set<{ id: string | number; frames: Frame[]; done: (frames: Frame[]) => void }>();
  const write = (frame: object) => child.stdin.write(`${JSON.stringify(frame)}\n`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
    const frame = JSON.parse(line) as Frame;
    allFrames.push(frame);
    for (const request of open) {
      request.frames.push(frame);
      if (isAnswerTo(frame, request.id)) {
        open.delete(request);
        request.done(request.frames);
      }
    }
    if (frame.method !== undefined && frame.id !== undefined)
      write({ jsonrpc: '2.0', id: frame.id, result: cannedAnswer(frame) });
  });
  const send = (method: string, params?: object, id = newId()) => {
    const frames = new Promise<Frame[]>((done, fail) => {
      open.add({ id, frames: [], done });
      void exited.then(() => fail(new Error(`the process exited; stderr:\n${stderr}`)));
      write({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    });
    // A request left open (one the server never answers) must not fail the run when the client closes.
    frames.catch(() => undefined);
    return { id, frames };
  };
  const client = {
    initializeResult: undefined as unknown,
    send,
    request: (method: string, params?: object, id?: string) => send(method, params, id).frames,
    notify: async (method: string, params?: object) =>
      void write({ jsonrpc: '2.0', method, ...(params ? { params } : {}) }),
    sessionFrames: [],
    allFrames,
    stderr: () => stderr,
    async close() {
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
  await initialize(client);
  return client;
}

/** A raw client over Streamable HTTP; `getStream` opens the session's GET stream after initialize. */
export async function rawHttpClient(url: string, { getStream = true } = {}): Promise<RawClient> {
  let session: string | undefined;
  // Known once initialize is answered; the header closure reads it from then on.
  let version: string | undefined = undefined;
  const allFrames: Frame[] = [];
  const sessionFrames: Frame[] = [];
  const streams = new AbortController();
  const headers = (extra: Record<string, string>) => ({
    ...(session ? { 'mcp-session-id': session } : {}),
    ...(version ? { 'mcp-protocol-version': version } : {}),
    ...extra,
  });
  const post = (frame: object) =>
    fetch(url, {
      method: 'POST',
      signal: streams.signal,
      headers: headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream' }),
      body: JSON.stringify(frame),
    });
  /** The frames of an SSE body, in order; server requests on it are answered. */
  async function readEvents(body: ReadableStream<Uint8Array>, into: Frame[]): Promise<void> {
    const parser = createParser({
      onEvent: (event) => {
        if (!event.data) return;
        const frame = JSON.parse(event.data) as Frame;
        into.push(frame);
        allFrames.push(frame);
        if (frame.method !== undefined && frame.id !== undefined)
          void post({ jsonrpc: '2.0', id: frame.id, result: cannedAnswer(frame) }).then((r) =>
            r.body?.cancel(),
          );
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of body) parser.feed(decoder.decode(chunk, { stream: true }));
  }
  const send = (method: string, params?: object, id = newId()) => {
    const frames = exchange({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    // A request left open (one the server never answers) must not fail the run when the client closes.
    frames.catch(() => undefined);
    return { id, frames };
  };
  async function exchange(frame: Frame): Promise<Frame[]> {
    const response = await post(frame);
    session = response.headers.get('mcp-session-id') ?? session;
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    if (response.headers.get('content-type')?.startsWith('application/json')) {
      const frame = (await response.json()) as Frame;
      allFrames.push(frame);
      return [frame];
    }
    const frames: Frame[] = [];
    await readEvents(response.body!, frames);
    return frames;
  }
  const client: RawClient = {
    initializeResult: undefined,
    send,
    request: (method, params, id) => send(method, params, id).frames,
    notify: async (method, params) => {
      const response = await post({ jsonrpc: '2.0', method, ...(params ? { params } : {}) });
      await response.body?.cancel();
    },
    sessionFrames,
    allFrames,
    stderr: () => '',
    async close() {
      streams.abort();
      if (session) await fetch(url, { method: 'DELETE', headers: headers({}) }).catch(() => undefined);
    },
  };
  await initialize(client);
  version = client.initializeResult.protocolVersion;
  if (getStream) {
    const response = await fetch(url, {
      headers: headers({ accept: 'text/event-stream' }),
      signal: streams.signal,
    });
    if (response.ok) void readEvents(response.body!, sessionFrames).catch(() => undefined);
    else await response.body?.cancel();
  }
  return client;
}

async function initialize(client: RawClient): Promise<void> {
  const frames = await client.request('initialize', {
    protocolVersion: '2025-11-25',
    capabilities: RAW_CAPABILITIES,
    clientInfo: { name: 'raw-client', version: '1.0.0' },
  });
  client.initializeResult = frames.at(-1)!.result;
  await client.notify('notifications/initialized');
}
