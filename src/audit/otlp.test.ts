import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEvent } from './describe.js';
import type { AuditEvent } from './events.js';
import { HOSTILE, sampleEvents } from './eventkit.js';
import { otlpExporter, type OtlpExporter, type OtlpSettings } from './otlp.js';

/**
 * The OTLP exporter against a real HTTP receiver on 127.0.0.1 that parses every request and holds it
 * to the OTLP/HTTP JSON shape of ExportLogsServiceRequest (opentelemetry-proto logs/v1, JSON mapping).
 */

const AnyValue: z.ZodType = z.lazy(() =>
  z.union([
    z.strictObject({ stringValue: z.string() }),
    z.strictObject({ boolValue: z.boolean() }),
    z.strictObject({ intValue: z.string().regex(/^-?\d+$/) }),
    z.strictObject({ doubleValue: z.number() }),
    z.strictObject({ arrayValue: z.strictObject({ values: z.array(AnyValue) }) }),
    z.strictObject({ kvlistValue: z.strictObject({ values: z.array(KeyValue) }) }),
  ]),
);
const KeyValue = z.strictObject({ key: z.string().min(1), value: AnyValue });
const Nanos = z.string().regex(/^\d+$/);
const ExportLogsServiceRequest = z.strictObject({
  resourceLogs: z.array(
    z.strictObject({
      resource: z.strictObject({ attributes: z.array(KeyValue) }),
      scopeLogs: z.array(
        z.strictObject({
          scope: z.strictObject({ name: z.string(), version: z.string() }),
          logRecords: z.array(
            z.strictObject({
              timeUnixNano: Nanos,
              observedTimeUnixNano: Nanos,
              severityNumber: z.number().int().min(1).max(24),
              severityText: z.string(),
              eventName: z.string(),
              body: AnyValue,
              attributes: z.array(KeyValue),
            }),
          ),
        }),
      ),
    }),
  ),
});
type LogsRequest = z.infer<typeof ExportLogsServiceRequest>;

interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: LogsRequest;
}

const CANARY = 'Bearer otlp-canary-3f9c2a';
let server: Server;
let url: string;
let received: Received[];
/** How the receiver answers each request, in turn; then 200. */
let answers: ((res: ServerResponse) => void | Promise<void>)[];
let logs: string[];

beforeEach(async () => {
  received = [];
  answers = [];
  logs = [];
  server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      received.push({
        method: req.method!,
        path: req.url!,
        headers: req.headers,
        body: ExportLogsServiceRequest.parse(JSON.parse(text)),
      });
      const answer = answers.shift();
      if (answer) void answer(res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/logs`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function exporter(settings: Partial<OtlpSettings> = {}): OtlpExporter {
  return otlpExporter({
    settings: {
      url,
      headers: { authorization: CANARY },
      timeoutMs: 5_000,
      maxQueue: 100,
      maxBatch: 100,
      flushIntervalMs: 60_000,
      maxAttempts: 3,
      backoffMs: 1,
      maxBackoffMs: 5,
      ...settings,
    },
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
  });
}

const events = sampleEvents().map((t) => t.event);
const records = (r: Received) => r.body.resourceLogs.flatMap((l) => l.scopeLogs.flatMap((s) => s.logRecords));
const attribute = (record: ReturnType<typeof records>[number], key: string) =>
  record.attributes.find((a) => a.key === key)?.value as Record<string, unknown> | undefined;
const status =
  (code: number, headers: Record<string, string> = {}) =>
  (res: ServerResponse) =>
    void res.writeHead(code, headers).end();

describe('the OTLP/HTTP JSON log exporter', () => {
  it('posts events as OpenTelemetry log records a collector accepts', async () => {
    const otlp = exporter();
    const exec = events.find((e) => e.event === 'approval.requested' && e.approvalId === 'a-exec')!;
    const refused = events.find((e) => e.event === 'approval.refused')!;
    otlp.push(exec, { seq: 9, time: '2026-03-02T09:10:00.000Z' });
    otlp.push(refused, { seq: 12, time: '2026-03-02T09:10:30.000Z' });
    await otlp.flush();

    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/logs' });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers.authorization).toBe(CANARY);
    expect(request!.body.resourceLogs[0]!.resource.attributes).toContainEqual({
      key: 'service.name',
      value: { stringValue: 'gatehouse' },
    });
    const [first, second] = records(request!);
    expect(first).toMatchObject({
      timeUnixNano: `${Date.parse('2026-03-02T09:10:00.000Z')}000000`,
      severityNumber: 9,
      eventName: 'gatehouse.approval.requested',
      body: { stringValue: describeEvent(exec) },
    });
    expect(attribute(first!, 'gatehouse.approvalId')).toEqual({ stringValue: 'a-exec' });
    expect(attribute(first!, 'gatehouse.caller.id')).toEqual({ stringValue: 'alice' });
    expect(attribute(first!, 'gatehouse.caller.groups')).toEqual({
      arrayValue: { values: [{ stringValue: 'dev' }] },
    });
    expect(attribute(first!, 'gatehouse.quorum')).toEqual({ intValue: '2' });
    expect(attribute(first!, 'gatehouse.seq')).toEqual({ intValue: '9' });
    // The client's argument names never become attribute keys: the values travel as one JSON string.
    expect(attribute(first!, 'gatehouse.arguments.value')).toEqual({ stringValue: JSON.stringify(HOSTILE) });
    expect(first!.attributes.some((a) => a.key.includes('onerror') || a.key.endsWith('.path'))).toBe(false);
    expect(second).toMatchObject({ severityNumber: 13, severityText: 'WARN' });
    expect(attribute(second!, 'gatehouse.code')).toEqual({ stringValue: 'APPROVER_IS_REQUESTER' });
    expect(otlp.stats()).toMatchObject({
      sent: 2,
      queued: 0,
      dropped: { queueFull: 0, rejected: 0, failed: 0 },
    });
    await otlp.close();
  });

  it('sends every event type, in batches of maxBatch, in order', async () => {
    const otlp = exporter({ maxBatch: 20 });
    for (const event of events) otlp.push(event);
    await otlp.flush();
    expect(received.map((r) => records(r).length)).toEqual([20, 20, events.length - 40]);
    expect(received.flatMap(records).map((r) => r.eventName)).toEqual(
      events.map((e) => `gatehouse.${e.event}`),
    );
    await otlp.close();
  });

  it('retries a busy collector (503 with Retry-After) and delivers', async () => {
    answers = [status(503, { 'retry-after': '0' }), status(429)];
    const otlp = exporter();
    otlp.push(events[0]!);
    await otlp.flush();
    expect(received).toHaveLength(3);
    expect(otlp.stats()).toMatchObject({ sent: 1, dropped: { failed: 0 } });
    await otlp.close();
  });

  it('drops and counts a batch after maxAttempts, and logs it without the headers', async () => {
    answers = [status(503), status(502), status(504)];
    const otlp = exporter({ maxAttempts: 3 });
    otlp.push(events[0]!);
    otlp.push(events[1]!);
    await otlp.flush();
    expect(received).toHaveLength(3);
    expect(otlp.stats()).toMatchObject({
      sent: 0,
      dropped: { failed: 2 },
      lastError: expect.stringContaining('HTTP 504'),
    });
    const warning = logs
      .map((l) => JSON.parse(l) as { msg: string; events?: number })
      .find((l) => l.events === 2);
    expect(warning?.msg).toContain('dropped a batch');
    expect(logs.join('\n')).not.toContain('otlp-canary');
    await otlp.close();
  });

  it('does not retry what the collector refuses (400), and counts partial rejects', async () => {
    answers = [
      status(400),
      (res) => void res.writeHead(200).end(JSON.stringify({ partialSuccess: { rejectedLogRecords: '1' } })),
    ];
    const otlp = exporter();
    otlp.push(events[0]!);
    await otlp.flush();
    otlp.push(events[1]!);
    otlp.push(events[2]!);
    await otlp.flush();
    expect(received).toHaveLength(2);
    expect(otlp.stats()).toMatchObject({ sent: 1, dropped: { rejected: 2, failed: 0 } });
    await otlp.close();
  });

  it('never blocks a caller: a full queue drops and counts new events while a request hangs', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    answers = [async (res) => held.then(() => void res.writeHead(200).end('{}'))];
    const otlp = exporter({ maxQueue: 4, maxBatch: 2 });
    otlp.push(events[0]!);
    otlp.push(events[1]!); // a full batch: sent at once, and held by the receiver
    await expect.poll(() => received.length).toBe(1);
    for (const event of events.slice(2, 9)) otlp.push(event); // 4 fit, 3 do not
    expect(otlp.stats()).toMatchObject({ queued: 4, dropped: { queueFull: 3 } });
    expect(logs.filter((l) => l.includes('queue is full'))).toHaveLength(1);
    release();
    await otlp.flush();
    expect(otlp.stats()).toMatchObject({ sent: 6, queued: 0, dropped: { queueFull: 3 } });
    expect(received.flatMap(records).map((r) => r.eventName)).toEqual(
      [...events.slice(0, 2), ...events.slice(2, 6)].map((e: AuditEvent) => `gatehouse.${e.event}`),
    );
    expect(logs.some((l) => l.includes('has room again') && l.includes('"dropped":3'))).toBe(true);
    await otlp.close();
  });

  it('gives up at close after one last try, without waiting out backoff', async () => {
    const otlp = exporter({ backoffMs: 60_000, maxBackoffMs: 60_000 });
    answers = [status(503), status(503)];
    otlp.push(events[0]!);
    const flushing = otlp.flush();
    await expect.poll(() => received.length).toBe(1);
    await otlp.close();
    await flushing;
    expect(received).toHaveLength(2);
    expect(otlp.stats()).toMatchObject({ sent: 0, dropped: { failed: 1 } });
    otlp.push(events[1]!);
    expect(otlp.stats().queued).toBe(0);
  });
});
