import type { Command } from 'commander';
import { DEFAULT_COST, hashPassword } from '../approvals/web/auth/password.js';
import { putApproverAccount } from '../config/edit.js';
import { GatehouseError } from '../errors.js';
import { configOption, type CliIo } from './options.js';
import { readNewPassword } from './secret.js';

/**
 * `gatehouse approvers add | hash-password`: local approver accounts (`approvers.accounts` of the
 * config). Passwords are typed without echo or piped on standard input, never given in argv.
 */
export function registerApproverCommands(program: Command, io: CliIo): void {
  const approvers = program.command('approvers').description('manage local approver accounts');

  approvers
    .command('add')
    .description(
      'add a local approver account to the config (or replace the one with this id); the password is typed without echo, or piped on standard input',
    )
    .argument('<id>', 'the approver id: what they sign in with and what rules name')
    .option('-g, --group <group>', 'a group the approver is in (repeat for several)', collect, [])
    .addOption(configOption())
    .action(async (id: string, flags: { group: string[]; config: string }) => {
      if (id.trim() === '' || flags.group.some((g) => g.trim() === '')) {
        throw new GatehouseError('USAGE', 'the approver id and every --group must be non-empty');
      }
      const passwordHash = await hashPassword(await readNewPassword(io, 'nothing was changed'), DEFAULT_COST);
      const done = putApproverAccount(flags.config, { id, groups: flags.group, passwordHash });
      io.out(
        `${done} approver "${id}"${flags.group.length ? ` (groups: ${flags.group.join(', ')})` : ''} in ` +
          `${flags.config}; restart Gatehouse to let them sign in`,
      );
    });

  approvers
    .command('hash-password')
    .description(
      'read a password (typed without echo, or piped on standard input) and print its hash for approvers.accounts[].passwordHash',
    )
    .action(async () =>
      io.out(await hashPassword(await readNewPassword(io, 'nothing was printed'), DEFAULT_COST)),
    );
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
