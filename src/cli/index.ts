import { Command, CommanderError } from 'commander';
import { isGatehouseError } from '../errors.js';
import { VERSION } from '../version.js';
import type { CliIo } from './options.js';

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

type Register = (program: Command, io: CliIo) => void;

/**
 * Each command's module, loaded when that command runs: `gatehouse serve` does not load init, audit,
 * policy and the rest, so that a client that launches it is answered sooner. In the order help lists them.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  serve: async () => (await import('./serve.js')).registerServe,
  init: async () => (await import('./init/command.js')).registerInitCommand,
  status: async () => (await import('./status.js')).registerStatus,
  policy: async () => (await import('./policy.js')).registerPolicyCommands,
  approvals: async () => (await import('./approvals.js')).registerApprovalCommands,
  approvers: async () => (await import('./approvers.js')).registerApproverCommands,
  audit: async () => (await import('./audit.js')).registerAuditCommands,
  teams: async () => (await import('./teams.js')).registerTeamsCommands,
  slack: async () => (await import('./slack.js')).registerSlackCommands,
  store: async () => (await import('./store.js')).registerStoreCommands,
};

/**
 * The program with every command, or with only the command `argv` names when it names one. Anything
 * else (options first, help, a mistyped name) gets them all, so that help and errors list every command.
 */
export async function buildProgram(io: CliIo, argv?: readonly string[]): Promise<Command> {
  const program = new Command('gatehouse')
    .description('MCP policy firewall: decides every tool call, gates privileged ones behind human approval')
    .version(VERSION, '-v, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError();
  const named = argv?.[2];
  const names = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  for (const register of await Promise.all(names.map((name) => COMMANDS[name]!()))) register(program, io);
  return program;
}

/** Runs the CLI; resolves to the exit code. Errors print one clear line, never a stack trace. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const program = await buildProgram(io, argv);
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
