import { describe, expect, it } from 'vitest';
import type { TrailEntry } from '../entries.js';
import { AuditEventSchema, type AuditEventName } from '../events.js';
import { CHECKPOINT_EVENT, HOSTILE, HOSTILE_TOOL, sampleEntries } from '../eventkit.js';
import { CSV_COLUMNS } from './csv.js';
import { exportTrail, type ExportFormat } from './index.js';
import { safeJson } from './json.js';
import { OCSF_VERSION, ocsfMapper } from './ocsf.js';

/** Every event type goes through each format; the formats hold what SIEMs and spreadsheets need. */

const entries: TrailEntry[] = [
  ...sampleEntries(),
  { seq: 999, time: '2026-03-02T18:00:00.000Z', record: CHECKPOINT_EVENT, event: CHECKPOINT_EVENT },
];

const ALL_EVENTS: AuditEventName[] = AuditEventSchema.options.map((schema) => schema.shape.event.value);

async function exported(format: ExportFormat, from = entries, period = {}): Promise<string> {
  let text = '';
  async function* all() {
    yield* from;
  }
  await exportTrail(all(), format, period, {
    write: async (chunk) => void (text += chunk),
    close: async () => undefined,
  });
  return text;
}

/** RFC 4180, enough to read back what the exporter wrote. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && c === '"') {
      quoted = false;
    } else if (quoted || (c !== '"' && c !== ',' && c !== '\n')) {
      cell += c;
    } else if (c === '"') {
      quoted = true;
    } else {
      row.push(cell);
      cell = '';
      if (c === '\n') {
        rows.push(row);
        row = [];
      }
    }
  }
  return rows;
}

describe('the sample trail', () => {
  it('has every event type of the vocabulary, so every mapping below is exercised', async () => {
    const kinds = new Set(entries.map((e) => e.event!.event));
    const withRotation = sampleEntries(
      (await import('../eventkit.js')).sampleEvents('other+01234567+AQ==', 'audit.test+01234567+AQ=='),
    );
    for (const e of withRotation) kinds.add(e.event!.event);
    expect([...kinds].sort()).toEqual([...ALL_EVENTS].sort());
  });
});

describe('CSV', () => {
  it('writes a header and one row a record, every cell quoted', async () => {
    const text = await exported('csv');
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(entries.length + 1);
    for (const line of text.trimEnd().split('\n')) expect(line.startsWith('"')).toBe(true);
  });

  it("neutralises formulas with a leading apostrophe (OWASP), and a tool's name is no exception", async () => {
    const rows = parseCsv(await exported('csv'));
    const tool = CSV_COLUMNS.indexOf('tool');
    const denied = rows.find((r) => r[tool]?.includes('SUM'))!;
    expect(denied[tool]).toBe(`'${HOSTILE_TOOL}`);
    for (const cell of rows.flat()) expect(cell).not.toMatch(/^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/);
  });

  it('keeps the whole record, quotes and all, in the last column', async () => {
    const rows = parseCsv(await exported('csv'));
    const record = CSV_COLUMNS.indexOf('record');
    const exec = rows.find((r) => r[CSV_COLUMNS.indexOf('approval_id')] === 'a-exec')!;
    const parsed = JSON.parse(exec[record]!) as { arguments: { value: typeof HOSTILE } };
    expect(parsed.arguments.value).toEqual(HOSTILE);
  });
});

describe('JSON Lines', () => {
  it('is one record a line with its seq and time, and escapes what a terminal would act on', async () => {
    const lines = (await exported('jsonl')).trimEnd().split('\n');
    expect(lines).toHaveLength(entries.length);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ seq: 0, time: entries[0]!.time, event: 'gatehouse.started' });
    expect(safeJson({ s: '\u009b31m\u202e\u2028' })).toBe('{"s":"\\u009b31m\\u202e\\u2028"}');
    expect(JSON.parse(safeJson({ s: '\u009b\u202e' }))).toEqual({ s: '\u009b\u202e' });
  });

  it('keeps to the period: since inclusive, until exclusive', async () => {
    const since = new Date('2026-03-02T09:10:00.000Z');
    const until = new Date('2026-03-02T09:11:00.000Z');
    const lines = (await exported('jsonl', entries, { since, until })).trimEnd().split('\n');
    const times = lines.map((l) => (JSON.parse(l) as { time: string }).time);
    expect(times.length).toBeGreaterThan(0);
    expect(times.every((t) => t >= since.toISOString() && t < until.toISOString())).toBe(true);
    expect(times).toContain(since.toISOString());
  });
});

/** OCSF 1.8.0: each class's required attributes and activity ids (from the schema's events/*.json). */
const OCSF_CLASSES: Record<number, { category: number; activities: number[]; required: string[] }> = {
  6003: { category: 6, activities: [0, 1, 2, 3, 4, 99], required: ['actor', 'api', 'src_endpoint'] },
  6002: { category: 6, activities: [0, 1, 2, 3, 4, 5, 6, 7, 8, 99], required: ['app'] },
  6008: { category: 6, activities: [0, 1, 2, 99], required: [] },
  3005: { category: 3, activities: [0, 1, 2, 99], required: ['privileges', 'user'] },
  3004: {
    category: 3,
    activities: [0, ...Array.from({ length: 13 }, (_, i) => i + 1), 99],
    required: ['entity'],
  },
};
const BASE_REQUIRED = [
  'activity_id',
  'category_uid',
  'class_uid',
  'metadata',
  'severity_id',
  'time',
  'type_uid',
];
const DISPOSITIONS = [...Array.from({ length: 28 }, (_, i) => i), 99];

/** The attributes these tests read. */
interface Ocsf {
  [key: string]: unknown;
  class_uid: number;
  category_uid: number;
  activity_id: number;
  type_uid: number;
  severity_id: number;
  status_id?: number;
  action_id?: number;
  disposition_id?: number;
  time: number;
  metadata: { version: string; product: { name: string }; sequence: number };
  unmapped: unknown;
  api?: { operation: string };
  actor?: { user?: { uid?: string; name?: string }; app_name?: string };
}

describe('OCSF', () => {
  const { map } = ocsfMapper('9.9.9');
  const events = entries.map((entry) => ({ entry, ocsf: map(entry) as Ocsf }));

  it('maps every record to a class with its required attributes and valid enums', () => {
    for (const { entry, ocsf } of events) {
      const where = `${entry.event!.event} (#${entry.seq})`;
      const cls = OCSF_CLASSES[ocsf.class_uid];
      expect(cls, where).toBeDefined();
      for (const key of [...BASE_REQUIRED, ...cls!.required])
        expect(ocsf[key], `${where}: ${key}`).toBeDefined();
      expect(ocsf.category_uid, where).toBe(cls!.category);
      expect(cls!.activities, where).toContain(ocsf.activity_id);
      expect(ocsf.type_uid, where).toBe(ocsf.class_uid * 100 + ocsf.activity_id);
      expect([0, 1, 2, 3, 4, 5, 6, 99], where).toContain(ocsf.severity_id);
      if (ocsf.status_id !== undefined) expect([0, 1, 2, 99], where).toContain(ocsf.status_id);
      if (ocsf.action_id !== undefined) expect([0, 1, 2, 3, 4, 99], where).toContain(ocsf.action_id);
      if (ocsf.disposition_id !== undefined) expect(DISPOSITIONS, where).toContain(ocsf.disposition_id);
      expect(ocsf.time, where).toBe(Date.parse(entry.time));
      expect(ocsf.metadata.version).toBe(OCSF_VERSION);
      expect(ocsf.metadata.product.name).toBe('Gatehouse');
      expect(ocsf.metadata.sequence).toBe(entry.seq);
      expect(ocsf.unmapped, where).toEqual(entry.record);
      if (ocsf.class_uid === 6003) expect(ocsf.api?.operation, where).toBeTruthy();
      if (ocsf.actor) {
        const { user, app_name: app } = ocsf.actor;
        expect(user?.uid ?? user?.name ?? app, `${where}: actor`).toBeTruthy();
      }
    }
  });

  it('says who approved what: an approve verdict is Assign Privileges, by the approver, to the requester', () => {
    const carol = events.find(
      ({ entry: { event } }) => event?.event === 'approval.decided' && event.approver.id === 'carol',
    )!.ocsf;
    expect(carol).toMatchObject({
      class_uid: 3005,
      activity_id: 1,
      type_uid: 300501,
      actor: { user: { uid: 'carol' } },
      user: { uid: 'alice' },
      privileges: ['tools/call fs/write_file'],
      action_id: 1,
      disposition_id: 8,
      metadata: { correlation_uid: 'a-exec', profiles: ['security_control'] },
    });
  });

  it('flags a refused self-approval as an alert, and a denied call as blocked', () => {
    const refused = events.find(({ entry: { event } }) => event?.event === 'approval.refused')!.ocsf;
    expect(refused).toMatchObject({
      status_id: 2,
      status_code: 'APPROVER_IS_REQUESTER',
      is_alert: true,
      disposition_id: 26,
    });
    const denied = events.find(
      ({ entry: { event } }) => event?.event === 'call.decided' && event.effect === 'deny',
    )!.ocsf;
    expect(denied).toMatchObject({
      class_uid: 6003,
      action_id: 2,
      disposition_id: 2,
      status_id: 2,
      api: { operation: HOSTILE_TOOL },
    });
    const shadow = events.find(
      ({ entry: { event } }) => event?.event === 'call.decided' && event.mode === 'shadow',
    )!.ocsf;
    expect(shadow).toMatchObject({ action_id: 3, disposition_id: 17, policy: { is_applied: false } });
  });

  it('names the requester of a call found unknown after a crash, and the version that wrote it', () => {
    const unknown = events.find(({ entry: { event } }) => event?.event === 'call.unknown')!.ocsf;
    expect(unknown).toMatchObject({
      status_id: 0,
      actor: { user: { uid: 'alice' } },
      metadata: { product: { version: '0.1.1' } },
    });
  });

  it('maps a record this version does not know to a translation error, keeping it whole', () => {
    const odd = { event: 'from.the.future', x: 1 };
    const ocsf = ocsfMapper().map({
      seq: 5,
      time: entries[0]!.time,
      record: odd,
      unknown: 'from.the.future: ...',
    });
    expect(ocsf).toMatchObject({ class_uid: 6008, activity_id: 2, type_uid: 600802, unmapped: odd });
  });
});
