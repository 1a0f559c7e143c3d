import { writeFile } from 'node:fs/promises';
import { readTrail } from '../entries.js';
import type { Period } from '../period.js';
import { reportBuilder, type ReportModel } from './model.js';
import { renderReport } from './render.js';

/** `gatehouse audit report`: reads the whole trail once, and writes the period's evidence as one HTML file. */
export async function writeEvidenceReport(options: {
  dir: string;
  period: Period;
  verification?: ReportModel['verification'];
  out: string;
  now?: Date;
}): Promise<ReportModel> {
  const builder = reportBuilder(options.period);
  for await (const entry of readTrail(options.dir)) builder.add(entry);
  const model = builder.finish(options.verification, options.now);
  // 0600 like the log: the report names callers and shows (redacted) arguments.
  await writeFile(options.out, renderReport(model), { mode: 0o600 });
  return model;
}
