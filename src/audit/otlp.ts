import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AuditEvent } from './events.js';
import { describeUrl } from './mirror.js';
import { undici } from '../shared/undici.js';
import { logsRequest, type LogInput } from './otlpJson.js';

/**
 * Sends audit events to a SIEM as OpenTelemetry logs over OTLP/HTTP JSON (POST to the configured
 * /v1/logs URL). Best-effort by design: the signed log is the record, this is a copy.
 *
 * - `push` never blocks and never throws: it queues (bounded by `maxQueue`); a full queue drops the
 *   event and counts it. A call never waits for the SIEM.
 * - Batches of up to `maxBatch` go one request at a time, in order, after `flushIntervalMs` or at once
 *   when a batch is full.
 * - A batch is retried on 429, 502, 503, 504 and network errors (the OTLP/HTTP spec's retryable
 *   cases), after `backoffMs` doubling with jitter or the server's Retry-After, up to `maxAttempts`;
 *   then dropped and counted. Other answers drop it at once; a partial success counts its rejects.
 * - Drops are logged (once as they start, with a count when they stop) and shown by `stats()`. Header
 *   values are never logged; the URL appears without credentials or query.
 *
 * Written by hand rather than with @opentelemetry/exporter-logs-otlp-http: its current releases need
 * Node 22.15, the last line for Node 20 pulls in the trace and metrics SDKs through otlp-transformer,
 * and its batch processor drops a full queue silently where Gatehouse must count and report drops.
 */

export type OtlpSettings = NonNullable<Config['audit']['otlp']>;

export interface OtlpStats {
  queued: number;
  sent: number;
  dropped: { queueFull: number; rejected: number; failed: number };
  lastError?: string;
}

export interface OtlpExporter {
  /** Queues an event (with its seq and log time when known); returns at once. */
  push(event: AuditEvent, appended?: { seq: number; time: string }): void;
  stats(): OtlpStats;
  /** Sends what is queued now, retrying as usual; resolves when the queue is empty or given up. */
  flush(): Promise<void>;
  /** Stops the timer and makes one last try at what is queued, without waiting out any backoff. */
  close(): Promise<void>;
}

export interface OtlpExporterOptions {
  settings: OtlpSettings;
  logger: Logger;
  now?: () => Date;
  /** Jitter source, for tests. */
  random?: () => number;
}

const RETRYABLE = new Set([429, 502, 503, 504]);

/** Why a request did not deliver its batch. */
interface Failure {
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
}

function retryAfter(header: string | string[] | undefined, now: Date): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

export function otlpExporter(options: OtlpExporterOptions): OtlpExporter {
  const { settings } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const log = options.logger.child({ module: 'audit-otlp' });
  const where = describeUrl(settings.url);
  const queue: LogInput[] = [];
  const stats: OtlpStats = { queued: 0, sent: 0, dropped: { queueFull: 0, rejected: 0, failed: 0 } };
  let droppingSince: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  let closed = false;
  let wake: (() => void) | undefined;

  const fail = (message: string) => {
    stats.lastError = message;
  };

  /** One request; undefined when the endpoint took the batch. */
  async function send(batch: readonly LogInput[]): Promise<Failure | undefined> {
    let response;
    try {
      response = await undici().request(settings.url, {
        method: 'POST',
        headers: { ...settings.headers, 'content-type': 'application/json' },
        body: JSON.stringify(logsRequest(batch)),
        headersTimeout: settings.timeoutMs,
        bodyTimeout: settings.timeoutMs,
      });
    } catch (error) {
      return { message: `${where}: ${(error as Error).message}`, retryable: true };
    }
    const text = await response.body.text().catch(() => '');
    if (response.statusCode < 200 || response.statusCode > 299) {
      const wait = retryAfter(response.headers['retry-after'], now());
      return {
        message: `${where} answered HTTP ${response.statusCode}`,
        retryable: RETRYABLE.has(response.statusCode),
        ...(wait !== undefined && { retryAfterMs: wait }),
      };
    }
    const rejected = partialRejects(text);
    stats.sent += batch.length - rejected;
    if (rejected > 0) {
      stats.dropped.rejected += rejected;
      fail(`${where} rejected ${rejected} of ${batch.length} log record(s)`);
      log.warn({ url: where, rejected }, 'the OTLP endpoint rejected some audit events');
    }
    return undefined;
  }

  /** Sends one batch with retries; counts it as sent, rejected or failed. */
  async function deliver(batch: readonly LogInput[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const failure = await send(batch);
      if (!failure) return;
      fail(failure.message);
      if (!failure.retryable || attempt >= settings.maxAttempts || closed) {
        stats.dropped[failure.retryable ? 'failed' : 'rejected'] += batch.length;
        log.warn(
          { url: where, events: batch.length, attempts: attempt, reason: failure.message },
          'dropped a batch of audit events the OTLP endpoint did not take',
        );
        return;
      }
      const backoff = Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** (attempt - 1));
      const wait = Math.min(settings.maxBackoffMs, failure.retryAfterMs ?? backoff * (0.5 + random() / 2));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        t.unref();
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  function pump(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    pumping ??= (async () => {
      while (queue.length > 0) {
        const batch = queue.splice(0, settings.maxBatch);
        stats.queued = queue.length;
        await deliver(batch);
      }
      if (droppingSince !== undefined) {
        log.warn(
          { url: where, dropped: stats.dropped.queueFull - droppingSince },
          'the audit OTLP queue has room again; events were dropped while it was full',
        );
        droppingSince = undefined;
      }
    })().finally(() => {
      pumping = undefined;
    });
    return pumping;
  }

  function schedule(): void {
    if (closed) return;
    if (queue.length >= settings.maxBatch) void pump();
    else if (timer === undefined && pumping === undefined) {
      timer = setTimeout(() => void pump(), settings.flushIntervalMs);
      timer.unref();
    }
  }

  return {
    push(event, appended) {
      if (closed) return;
      if (queue.length >= settings.maxQueue) {
        stats.dropped.queueFull++;
        if (droppingSince === undefined) {
          droppingSince = stats.dropped.queueFull - 1;
          fail(`the queue of ${settings.maxQueue} event(s) is full`);
          log.warn(
            { url: where, maxQueue: settings.maxQueue },
            'the audit OTLP queue is full: dropping events',
          );
        }
        return;
      }
      const observed = now();
      queue.push({
        event,
        time: appended ? new Date(appended.time) : observed,
        observed,
        ...(appended && { seq: appended.seq }),
      });
      stats.queued = queue.length;
      schedule();
    },
    stats: () => ({ ...stats, dropped: { ...stats.dropped } }),
    async flush() {
      while (queue.length > 0 || pumping) await pump();
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      wake?.();
      await pumping;
      if (queue.length > 0) await pump();
    },
  };
}

/** `partialSuccess.rejectedLogRecords` of a 2xx answer (an int64, so a string in JSON). */
function partialRejects(text: string): number {
  try {
    const body = JSON.parse(text) as { partialSuccess?: { rejectedLogRecords?: string | number } };
    const rejected = Number(body.partialSuccess?.rejectedLogRecords ?? 0);
    return Number.isSafeInteger(rejected) && rejected > 0 ? rejected : 0;
  } catch {
    return 0;
  }
}

/** The exporter the config asks for, if any. */
export function otlpExporterFromConfig(audit: Config['audit'], logger: Logger): OtlpExporter | undefined {
  return audit.otlp ? otlpExporter({ settings: audit.otlp, logger }) : undefined;
}
