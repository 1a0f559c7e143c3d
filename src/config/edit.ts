import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GatehouseError } from '../errors.js';
import { isObject } from '../shared/json.js';

/**
 * Changes to a config file on a person's behalf (`gatehouse approvers add`). The file is edited as
 * written, `${VAR}` references unexpanded, and replaced atomically with its mode kept: a half-written
 * config must never be what the next start reads.
 */

export interface ApproverAccount {
  id: string;
  groups: string[];
  passwordHash: string;
}

/** Adds the account to `approvers.accounts`, or replaces the one with its id. */
export function putApproverAccount(file: string, account: ApproverAccount): 'added' | 'replaced' {
  const absolute = path.resolve(file);
  const config = readJsonObject(absolute);
  const approvers = objectAt(config, 'approvers', absolute);
  const accounts = approvers.accounts ?? [];
  if (!Array.isArray(accounts)) {
    throw new GatehouseError('CONFIG_INVALID', `${absolute}: $.approvers.accounts: expected a list`);
  }
  const at = accounts.findIndex((a) => (a as { id?: unknown } | null)?.id === account.id);
  if (at >= 0) accounts[at] = account;
  else accounts.push(account);
  approvers.accounts = accounts;
  writeAtomically(absolute, `${JSON.stringify(config, null, 2)}\n`);
  return at >= 0 ? 'replaced' : 'added';
}

function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new GatehouseError('CONFIG_NOT_FOUND', `${file}: cannot read the config file (${reason})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GatehouseError('CONFIG_INVALID', `${file}: not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new GatehouseError('CONFIG_INVALID', `${file}: $: expected an object`);
  return value;
}

function objectAt(parent: Record<string, unknown>, key: string, file: string): Record<string, unknown> {
  const value = (parent[key] ??= {});
  if (!isObject(value)) throw new GatehouseError('CONFIG_INVALID', `${file}: $.${key}: expected an object`);
  return value;
}

function writeAtomically(file: string, text: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const { mode } = statSync(file);
  writeFileSync(temporary, text, { mode: mode & 0o777 });
  chmodSync(temporary, mode & 0o777);
  renameSync(temporary, file);
}
