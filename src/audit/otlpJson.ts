import { VERSION } from '../version.js';
import { describeEvent, eventSeverity, type EventSeverity } from './describe.js';
import type { AuditEvent } from './events.js';
import { isObject } from '../shared/json.js';

/**
 * Audit events as an OTLP/HTTP JSON logs request (ExportLogsServiceRequest), written against the
 * OTLP specification's JSON mapping (opentelemetry-proto, logs/v1): lowerCamelCase field names,
 * 64-bit integers as decimal strings, enums as numbers, `AnyValue` as `{"stringValue": ...}` and kin.
 *
 * Each event becomes one LogRecord: its time, a severity, the event's sentence as the body, the name
 * `gatehouse.<event>`, and its fields as attributes `gatehouse.<field>` (nested objects by dotted
 * keys). The arguments' values stay one JSON string attribute: their keys come from the client, and
 * must not become attribute names.
 */

export type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } };

export interface KeyValue {
  key: string;
  value: AnyValue;
}

/** SeverityNumber and its short name, per the OpenTelemetry log data model. */
const SEVERITY: Record<EventSeverity, [number, string]> = {
  info: [9, 'INFO'],
  notice: [10, 'INFO2'],
  warning: [13, 'WARN'],
  error: [17, 'ERROR'],
};

export function anyValue(value: unknown): AnyValue {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  }
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  if (typeof value === 'object' && value !== null) {
    return {
      kvlistValue: { values: Object.entries(value).map(([key, v]) => ({ key, value: anyValue(v) })) },
    };
  }
  return { stringValue: String(value) };
}

/** Free-form JSON (arguments) stays a string: its keys are the client's. */
const OPAQUE = new Set(['arguments.value']);

function flatten(value: Record<string, unknown>, prefix: string, path: string, out: KeyValue[]): KeyValue[] {
  for (const [key, v] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (v === undefined) continue;
    if (OPAQUE.has(at)) out.push({ key: `${prefix}${at}`, value: { stringValue: JSON.stringify(v) } });
    else if (isObject(v)) flatten(v, prefix, at, out);
    else out.push({ key: `${prefix}${at}`, value: anyValue(v) });
  }
  return out;
}

export interface LogInput {
  event: AuditEvent;
  /** When it happened (the log's append time when known). */
  time: Date;
  /** When the exporter received it. */
  observed: Date;
  seq?: number;
}

const nanos = (date: Date): string => `${BigInt(date.getTime()) * 1_000_000n}`;

export function logRecord({ event, time, observed, seq }: LogInput) {
  const [severityNumber, severityText] = SEVERITY[eventSeverity(event)];
  const attributes = flatten(event, 'gatehouse.', '', []);
  if (seq !== undefined) attributes.push({ key: 'gatehouse.seq', value: { intValue: String(seq) } });
  return {
    timeUnixNano: nanos(time),
    observedTimeUnixNano: nanos(observed),
    severityNumber,
    severityText,
    eventName: `gatehouse.${event.event}`,
    body: { stringValue: describeEvent(event) },
    attributes,
  };
}

export function logsRequest(records: readonly LogInput[]) {
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'gatehouse' } },
            { key: 'service.version', value: { stringValue: VERSION } },
          ],
        },
        scopeLogs: [
          { scope: { name: 'gatehouse.audit', version: VERSION }, logRecords: records.map(logRecord) },
        ],
      },
    ],
  };
}
