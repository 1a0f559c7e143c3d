import type { Command } from 'commander';
import { auditExport, auditReport } from './audit/evidence.js';
import { auditKeygen, auditRotateKey } from './audit/keys.js';
import { repeatable, withLocation, withVerifierKeys } from './audit/location.js';
import { auditShow, auditTail } from './audit/show.js';
import { auditVerify, auditVerifyReceipt } from './audit/verify.js';
import type { CliIo } from './options.js';

/**
 * `gatehouse audit …`: keys, verification, one call's story, following, export and the evidence
 * report. Exit codes: 0 when everything holds, 1 when the trail or a receipt does not verify (or an id
 * is not found), 2 for an unusable command line, config or key.
 */
export function registerAuditCommands(program: Command, io: CliIo): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident audit trail: keys, verify, show, export, report');
  // A reader that stops early (`| head`) ends the output, not with a stack trace.
  audit.hook('preAction', () => {
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw error;
    });
  });
  const run = async (action: Promise<number>) => {
    process.exitCode = await action;
  };

  withLocation(audit.command('keygen'))
    .description('create the audit signing key file (mode 0600) and print its verifier key to publish')
    .option(
      '--name <name>',
      "the key's name, such as example.com/gatehouse (default: audit.origin or gatehouse/<host>)",
    )
    .option('--out <file>', "where to write the key file (default: the config's audit.keyFile)")
    .action((flags) => run(auditKeygen(flags, io)));

  withLocation(audit.command('rotate-key'))
    .description('with Gatehouse stopped: switch to a new signing key and record the rotation in the log')
    .option('--name <name>', "the new key's name (default: the current key's)")
    .action((flags) => run(auditRotateKey(flags, io)));

  withVerifierKeys(withLocation(audit.command('verify')))
    .description(
      'check every record, the Merkle tree and every signed checkpoint; exit 1 naming the first bad record',
    )
    .option('--from <seq>', 'check records line by line from this seq on (earlier ones are only hashed)')
    .option(
      '--witness <file>',
      "another copy of the checkpoints (a mirror's checkpoints.jsonl); repeatable",
      repeatable,
    )
    .option(
      '--replica <dir>',
      'the audit log of another replica on the same PostgreSQL store: verified too, and checked together with this one (repeatable)',
      repeatable,
    )
    .option('--json', 'print the result as JSON')
    .action((flags) => run(auditVerify(flags, io)));

  withVerifierKeys(audit.command('verify-receipt'))
    .description('check a receipt (or a tool result carrying one in _meta) offline against a verifier key')
    .argument('<file>', 'the receipt JSON')
    .action((file: string, flags) => run(auditVerifyReceipt(file, flags, io)));

  withLocation(audit.command('show'))
    .description('the whole story of one approval or call: request, deliveries, decisions, refusals, outcome')
    .argument('<id>', 'an approval id or a call id')
    .option('--json', 'print the records as JSON Lines')
    .action((id: string, flags) => run(auditShow(id, flags, io)));

  withLocation(audit.command('tail'))
    .description('print the last records; with -f, follow new ones as Gatehouse writes them')
    .option('-n, --lines <n>', 'how many records to print first', '10')
    .option('-f, --follow', 'keep printing records as they are written (Ctrl-C to stop)')
    .option('--json', 'print records as JSON Lines')
    .action((flags) => run(auditTail(flags, io)));

  withLocation(audit.command('export'))
    .description('write the records of a period as JSON Lines, CSV or OCSF (for SIEMs)')
    .requiredOption('--format <format>', 'jsonl, csv or ocsf')
    .option(
      '--since <when>',
      'from this UTC date, time or span back (2026-01-01, 2026-01-01T09:00:00Z, 24h, 7d)',
    )
    .option('--until <when>', 'up to this time (a bare date includes that whole day)')
    .option('--out <file>', 'write to this file (default: standard output)')
    .action((flags) => run(auditExport(flags, io)));

  withVerifierKeys(withLocation(audit.command('report')))
    .description('write the evidence report of a period as one self-contained HTML file')
    .option('--since <when>', 'from this UTC date, time or span back')
    .option('--until <when>', 'up to this time (a bare date includes that whole day)')
    .option('--witness <file>', 'another copy of the checkpoints to verify against; repeatable', repeatable)
    .requiredOption('--out <file>', 'the HTML file to write')
    .action((flags) => run(auditReport(flags, io)));
}
