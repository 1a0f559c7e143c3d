import { Command, CommanderError } from 'commander';
import { isGatehouseError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerApprovalCommands } from './approvals.js';
import { registerApproverCommands } from './approvers.js';
import { registerAuditCommands } from './audit.js';
import { registerInitCommand } from './init/command.js';
import type { CliIo } from './options.js';
import { registerPolicyCommands } from './policy.js';
import { registerServe } from './serve.js';
import { registerStatus } from './status.js';
import { registerStoreCommands } from './store.js';
import { registerTeamsCommands } from './teams.js';

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

export function buildProgram(io: CliIo): Command {
  const program = new Command('gatehouse')
    .description('MCP policy firewall: decides every tool call, gates privileged ones behind human approval')
    .version(VERSION, '-v, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError();
  registerServe(program, io);
  registerInitCommand(program, io);
  registerStatus(program, io);
  registerPolicyCommands(program, io);
  registerApprovalCommands(program, io);
  registerApproverCommands(program, io);
  registerAuditCommands(program, io);
  registerTeamsCommands(program, io);
  registerStoreCommands(program, io);
  return program;
}

/** Runs the CLI; resolves to the exit code. Errors print one clear line, never a stack trace. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (isGatehouseError(error)) {
      io.err(`gatehouse: ${error.message}`);
      return error.exitCode;
    }
    io.err(`gatehouse: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
