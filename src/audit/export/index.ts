import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { TrailEntry } from '../entries.js';
import { inPeriod, type Period } from '../period.js';
import { csvHeader, csvRow } from './csv.js';
import { safeJson } from './json.js';
import { ocsfMapper } from './ocsf.js';

/**
 * `gatehouse audit export`: the records of a period as JSON Lines (each record with its seq and time),
 * CSV (for spreadsheets) or OCSF JSON Lines (for SIEMs). Records before the period are still read:
 * OCSF names an approval's requester in events that come after its request.
 */

export const EXPORT_FORMATS = ['jsonl', 'csv', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A record as JSON Lines carry it: its place and time first, then what it says. */
export const flatRecord = (entry: TrailEntry): Record<string, unknown> => ({
  seq: entry.seq,
  time: entry.time,
  ...entry.record,
});

interface Formatter {
  header?: string;
  line: (entry: TrailEntry) => string;
  /** Sees a record outside the period. */
  skip?: (entry: TrailEntry) => void;
}

function formatter(format: ExportFormat): Formatter {
  switch (format) {
    case 'jsonl':
      return { line: (entry) => `${safeJson(flatRecord(entry))}\n` };
    case 'csv':
      return { header: csvHeader(), line: csvRow };
    case 'ocsf': {
      const ocsf = ocsfMapper();
      return { line: (entry) => `${safeJson(ocsf.map(entry))}\n`, skip: ocsf.learn };
    }
  }
}

export interface ExportSink {
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/** A file written as it goes (0600: the records name callers and carry redacted arguments). */
export function fileSink(path: string): ExportSink {
  const stream = createWriteStream(path, { mode: 0o600 });
  const failed = once(stream, 'error').then(([error]) => {
    throw error;
  });
  failed.catch(() => undefined);
  return {
    async write(text) {
      if (!stream.write(text)) await Promise.race([once(stream, 'drain'), failed]);
    },
    async close() {
      stream.end();
      await Promise.race([once(stream, 'finish'), failed]);
    },
  };
}

/** Writes the records of the period; resolves to how many it wrote. */
export async function exportTrail(
  entries: AsyncIterable<TrailEntry>,
  format: ExportFormat,
  period: Period,
  sink: ExportSink,
): Promise<number> {
  const { header, line, skip } = formatter(format);
  if (header) await sink.write(header);
  let written = 0;
  for await (const entry of entries) {
    if (!inPeriod(period, entry.time)) {
      skip?.(entry);
      continue;
    }
    await sink.write(line(entry));
    written++;
  }
  return written;
}
