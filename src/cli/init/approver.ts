import { DEFAULT_COST, hashPassword } from '../../approvals/web/auth/password.js';
import { IdentitySchema } from '../../config/schema.js';
import { GatehouseError } from '../../errors.js';
import { resolveStdioCaller } from '../../identity/stdio.js';
import type { CliIo } from '../options.js';
import { promptLine, readNewPassword } from '../secret.js';
import type { Approver } from './folder.js';
import { APPROVER_GROUP } from './policies.js';

/** The approver account: `--approver ID` (password from stdin or asked), asked for on a terminal, or none. */
export async function approverAccount(
  flag: string | boolean | undefined,
  io: CliIo,
): Promise<Approver | undefined> {
  if (flag === false) return undefined;
  let id = typeof flag === 'string' ? flag : undefined;
  if (id === undefined) {
    if (!process.stdin.isTTY) return undefined;
    id = (await promptLine('Approver account id [approver]: ')) || 'approver';
  }
  // On stdio the caller is the OS user, and nobody approves their own calls.
  const caller = resolveStdioCaller(IdentitySchema.parse({})).id;
  if (!/^\S+$/.test(id))
    throw new GatehouseError('USAGE', `--approver: "${id}" is not an account id (no spaces)`);
  if (id === caller) {
    throw new GatehouseError(
      'USAGE',
      `--approver: "${id}" is the caller on stdio (your OS user), who cannot approve their own calls; pick another id`,
    );
  }
  const password = await readNewPassword(io, 'nothing was written');
  return { id, groups: [APPROVER_GROUP], passwordHash: await hashPassword(password, DEFAULT_COST) };
}
