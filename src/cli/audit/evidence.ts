import path from 'node:path';
import { readTrail } from '../../audit/entries.js';
import { EXPORT_FORMATS, exportTrail, fileSink, type ExportFormat } from '../../audit/export/index.js';
import { parsePeriod } from '../../audit/period.js';
import { writeEvidenceReport } from '../../audit/report/index.js';
import { GatehouseError } from '../../errors.js';
import type { CliIo } from '../options.js';
import { auditLocation, keyLabels, type LocationFlags } from './location.js';
import { verifyFromFlags, type VerifyFlags } from './verify.js';

/** `gatehouse audit export` and `gatehouse audit report`: the trail for SIEMs, spreadsheets and auditors. */

interface PeriodFlags {
  since?: string;
  until?: string;
}

export async function auditExport(
  flags: LocationFlags & PeriodFlags & { format: string; out?: string },
  io: CliIo,
): Promise<number> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(flags.format)) {
    throw new GatehouseError('USAGE', `--format ${flags.format}: use one of ${EXPORT_FORMATS.join(', ')}`);
  }
  const period = parsePeriod(flags);
  const { dir } = auditLocation(flags);
  const sink = flags.out
    ? fileSink(path.resolve(flags.out))
    : { write: async (text: string) => io.out(text.replace(/\n$/, '')), close: async () => undefined };
  let written: number;
  try {
    written = await exportTrail(readTrail(dir), flags.format as ExportFormat, period, sink);
  } finally {
    await sink.close();
  }
  if (flags.out) io.err(`wrote ${written} record(s) to ${flags.out} as ${flags.format}`);
  return 0;
}

export async function auditReport(
  flags: VerifyFlags & PeriodFlags & { out: string },
  io: CliIo,
): Promise<number> {
  const period = parsePeriod(flags);
  const { dir } = auditLocation(flags);
  const { report, keys, witnesses } = await verifyFromFlags({ ...flags, from: undefined });
  const model = await writeEvidenceReport({
    dir,
    period,
    out: path.resolve(flags.out),
    verification: {
      ...report,
      keys: `${keys.source}: ${keyLabels(keys.keys)}${keys.local ? ' (the key file beside the log; an auditor checks with the published key)' : ''}`,
      witnesses,
    },
  });
  io.err(
    `wrote ${flags.out}: ${model.records.count} record(s) in the period, ${model.privileged.length} privileged action(s); ` +
      (report.ok ? 'the log verifies' : `the log does NOT verify: ${report.problem?.message}`),
  );
  return report.ok ? 0 : 1;
}
