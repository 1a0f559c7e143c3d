import type { Dispatcher } from 'undici';

/**
 * One HTTP request and its response on undici's dispatcher, through the handler interface the
 * dispatcher itself speaks. undici's `request()` wraps every response in a Readable stream, an
 * AsyncResource and a parsed header object, and adds an abort listener to the request's signal: on a
 * downstream tool call that was a tenth of Gatehouse's own CPU. Here the chunks go to whoever reads
 * the body (kept until then), and the few headers the transport looks at are found in the raw list.
 */

export interface Exchange {
  statusCode: number;
  statusText: string;
  /** The first value of a response header, by its lower-case name. */
  header(name: string): string | undefined;
  body: ExchangeBody;
}

export interface ExchangeBody {
  /**
   * Hands over every chunk (those that came before first), then calls `end` once: without an error
   * when the body is complete, with one when the connection broke or `destroy` was called.
   */
  read(chunk: (data: Buffer) => void, end: (error?: Error) => void): void;
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
  /** At most `limit` bytes of the body as UTF-8 text; a longer body is cut off with its connection. */
  textUpTo(limit: number): Promise<string>;
  /** Reads the body to its end and drops it, so the connection serves the next request. */
  dump(): Promise<void>;
  /** Stops the response (its connection is closed); `read`'s end gets `error`. */
  destroy(error?: Error): void;
}

export interface PendingExchange {
  /** Resolves with the response's status and headers; rejects when no response came. */
  response: Promise<Exchange>;
  /** Ends the exchange wherever it is: before the response, it rejects; after, the body ends with `reason`. */
  abort(reason: Error): void;
  /** The exchange is over (its body complete, or it failed, or was aborted). */
  readonly over: boolean;
  /** Runs once when the exchange is over (set it while `over` is false). */
  onOver?: () => void;
}

/** A body longer than this is not worth reading to keep its connection (undici's `dump()` limit). */
const DUMP_LIMIT = 128 * 1024;

class AbortedError extends Error {
  override name = 'AbortError';
}

/** Sends `options` on `dispatcher`. */
export function exchange(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): PendingExchange {
  let abortRequest: ((reason: Error) => void) | undefined;
  let abortedWith: Error | undefined;
  let done = false;
  let respond!: (exchange: Exchange) => void;
  let refuse!: (error: Error) => void;
  const response = new Promise<Exchange>((resolve, reject) => {
    respond = resolve;
    refuse = reject;
  });
  /** Chunks nobody has read yet; the reader, once there is one. */
  let held: Buffer[] | undefined = [];
  let reader: ((data: Buffer) => void) | undefined;
  let ender: ((error?: Error) => void) | undefined;
  /** How the body ended, while nobody has read it yet: null for complete. */
  let ending: Error | null | undefined;
  let started = false;

  const finish = (error?: Error) => {
    if (done) return;
    done = true;
    pending.onOver?.();
    if (!started) return refuse(error ?? new AbortedError('the request ended without a response'));
    const end = ender;
    if (!end) ending = error ?? null;
    // The reader hears of an abort after the code that aborted has gone on, as a stream's 'error' comes.
    else if (abortedWith) queueMicrotask(() => end(error));
    else end(error);
  };

  const abort = (reason: Error) => {
    if (done) return;
    abortedWith ??= reason;
    // Before the connection is assigned, the abort is passed on in onConnect.
    abortRequest?.(reason);
    // undici reports an abort through onError; a request it already finished reports nothing more.
    finish(reason);
  };

  const body: ExchangeBody = {
    read(chunk, end) {
      reader = chunk;
      ender = end;
      const before = held ?? [];
      held = undefined;
      for (const data of before) chunk(data);
      if (ending !== undefined) end(ending ?? undefined);
    },
    text: () =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        body.read(
          (data) => chunks.push(data),
          (error) => (error ? reject(error) : resolve(Buffer.concat(chunks).toString('utf8'))),
        );
      }),
    textUpTo: (limit) =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const whole = () => resolve(Buffer.concat(chunks).subarray(0, limit).toString('utf8'));
        body.read(
          (data) => {
            if (size >= limit) return;
            chunks.push(data);
            size += data.length;
            if (size >= limit) {
              whole();
              abort(new AbortedError('the body is longer than Gatehouse reads'));
            }
          },
          (error) => (error && size < limit ? reject(error) : whole()),
        );
      }),
    dump: () =>
      new Promise((resolve) => {
        let size = 0;
        body.read(
          (data) => {
            size += data.length;
            if (size > DUMP_LIMIT) abort(new AbortedError('the body is longer than Gatehouse drains'));
          },
          () => resolve(),
        );
      }),
    destroy: (error) => abort(error ?? new AbortedError('the response was dropped')),
  };

  const handler: Dispatcher.DispatchHandler = {
    onConnect(abortIt) {
      abortRequest = abortIt;
      if (abortedWith) abortIt(abortedWith);
    },
    onHeaders(statusCode, rawHeaders, _resume, statusText) {
      // 1xx: an interim answer; the response follows.
      if (statusCode < 200 || done) return true;
      started = true;
      respond({ statusCode, statusText, header: (name) => headerIn(rawHeaders, name), body });
      return true;
    },
    onData(data) {
      if (done) return true;
      if (reader) reader(data);
      else held?.push(data);
      return true;
    },
    onComplete() {
      finish();
    },
    onError(error) {
      finish(abortedWith ?? error);
    },
    onUpgrade() {
      finish(new Error('the server switched protocols'));
    },
  };
  const pending: PendingExchange = {
    response,
    abort,
    get over() {
      return done;
    },
  };
  // A request the dispatcher refuses at once is over when this returns.
  dispatcher.dispatch(options, handler);
  return pending;
}

/** The first value of header `name` (lower-case) in undici's raw list: name, value, name, value... */
function headerIn(raw: Buffer[] | string[] | null, name: string): string | undefined {
  if (!raw) return undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    // Latin-1, as undici decodes header names and values.
    if (key.length === name.length && latin1(key).toLowerCase() === name) return latin1(raw[i + 1]!);
  }
  return undefined;
}

const latin1 = (value: Buffer | string) => (typeof value === 'string' ? value : value.toString('latin1'));
