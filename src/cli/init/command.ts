import { homedir } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { GatehouseError } from '../../errors.js';
import { portArgument, type CliIo } from '../options.js';
import { policyCheck, policyTest } from '../policy.js';
import { approverAccount } from './approver.js';
import { CLIENT_NAMES, CLIENTS, type ClientKind, type Machine } from './clients.js';
import { CONFIG_FILE, ENV_FILE, folderFiles, writeFolder } from './folder.js';
import { APPROVER_GROUP } from './policies.js';
import { applyEdits, editsByFile, manualSteps, registrations, selfLaunch, undoLatest } from './register.js';
import { importLocations, sourceLocations, type Imports } from './sources.js';

/**
 * `gatehouse init`: from the MCP servers a user already has to a Gatehouse in front of them. Reads the
 * clients' files, writes a Gatehouse folder (config, env file with the secrets, starter policies, an
 * approver), checks that what it wrote loads, and prints the client entry that launches Gatehouse
 * instead of those servers, or writes it into the client's file (`--apply`, after a backup that
 * `--undo` puts back).
 */

interface InitFlags {
  client?: ClientKind;
  from: string[];
  project?: string;
  dir?: string;
  port: number;
  approver?: string | boolean;
  apply?: boolean;
  undo?: boolean;
  force?: boolean;
}

export function registerInitCommand(program: Command, io: CliIo): void {
  program
    .command('init')
    .description(
      'put Gatehouse in front of the MCP servers your client (Claude Desktop, Claude Code, VS Code, Cursor) already has',
    )
    .addOption(new Option('--client <name>', 'read only this client’s files').choices(CLIENTS))
    .option(
      '--from <file>',
      'read this client file instead of looking in the usual places (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option(
      '--project <dir>',
      'the project whose files (.mcp.json, .vscode/mcp.json, .cursor/mcp.json) to read (default: .)',
    )
    .option(
      '--dir <dir>',
      'where to write the Gatehouse config, env file and policies (default: <project>/gatehouse)',
    )
    .option('-p, --port <port>', 'port of the approval page and API (http.port)', portArgument(1), 8787)
    .option(
      '--approver <id>',
      'create this approver account; the password is read from standard input (or asked for)',
    )
    .option('--no-approver', 'create no approver account now')
    .option('--apply', "rewrite the client's own file to launch Gatehouse (after a backup beside it)")
    .option('--undo', "put back the client file's latest backup made by --apply")
    .option('--force', 'replace files already in --dir')
    .action(async (flags: InitFlags) => {
      if (flags.apply && flags.undo) throw new GatehouseError('USAGE', '--apply and --undo go one at a time');
      process.exitCode = flags.undo ? undo(flags, io) : await init(flags, io);
    });
}

function machineOf(flags: InitFlags): Machine {
  return {
    platform: process.platform,
    home: homedir(),
    env: process.env,
    project: path.resolve(flags.project ?? '.'),
  };
}

async function init(flags: InitFlags, io: CliIo): Promise<number> {
  // A fixed port (never 0): it is where approvers find the page, and where `gatehouse approvals` looks.
  const port = flags.port;
  const machine = machineOf(flags);
  const { locations, given } = sourceLocations(flags, machine);
  const imports = importLocations(locations, machine);
  checkFound(imports, given || flags.client !== undefined);

  const dir = flags.dir ? path.resolve(flags.dir) : path.join(machine.project, 'gatehouse');
  const configFile = path.join(dir, CONFIG_FILE);
  const approver = await approverAccount(flags.approver, io);
  const files = folderFiles({
    servers: imports.servers,
    secrets: imports.vault.variables,
    port,
    ...(approver ? { approver } : {}),
  });
  writeFolder(dir, files, flags.force === true);

  io.out(describeImports(imports, dir));
  const fromClient = await verify(dir, configFile, imports, io);

  const launch = selfLaunch(configFile);
  const changes = registrations(imports, launch);
  io.out('');
  if (flags.apply) {
    const now = new Date();
    for (const [file, edits] of editsByFile(changes)) {
      const backup = applyEdits(file, imports.texts.get(file)!.text, edits, now);
      io.out(`Rewrote ${file}: Gatehouse replaces the servers above (backup: ${backup}).`);
    }
    const clients = [...new Set(changes.map((c) => CLIENT_NAMES[c.location.client]))].join(', ');
    io.out(
      `Restart ${clients} to use it. \`gatehouse init --undo${undoScope(flags)}\` puts the backup back.`,
    );
  } else {
    io.out('Register Gatehouse in the client instead of those servers:');
    for (const change of changes) io.out(manualSteps(change.location, change.moved, change.entry).join('\n'));
    io.out(`Or let init do it: run it again with --apply --force (it keeps a backup of the client's file).`);
  }
  for (const line of fromClient) io.out(line);
  io.out('');
  io.out(
    approver
      ? `Approver: ${approver.id} signs in at http://127.0.0.1:${port}/approvals (or \`gatehouse approvals list --user ${approver.id} --config ${configFile}\`).`
      : `No approver yet: gated calls wait for one. Add one: \`gatehouse approvers hash-password\`, then put {"id": "<someone-else>", "groups": ["${APPROVER_GROUP}"], "passwordHash": "<the hash>"} into approvers.accounts of ${configFile}.`,
  );
  return 0;
}

/** Nothing found is an error naming where init looked; servers from several clients need a choice. */
function checkFound(imports: Imports, chosen: boolean): void {
  if (imports.servers.length === 0) {
    const skipped = imports.skipped
      .map((s) => `\n  ${s.original} (${s.location.file}): ${s.reason}`)
      .join('');
    const registered = [...new Set(imports.registered.map((l) => l.file))].map(
      (file) =>
        `\nGatehouse is registered in ${file} already (\`gatehouse init --undo\` puts back what was there)`,
    );
    throw new GatehouseError(
      'USAGE',
      `no MCP server to put behind Gatehouse was found${skipped ? `; skipped:${skipped}` : ''}${registered.join('')}\nlooked in:\n  ${imports.lookedAt.join('\n  ')}\npass --from FILE to read a client file from elsewhere`,
    );
  }
  const clients = new Set(imports.servers.map((s) => s.location.client));
  if (clients.size > 1 && !chosen) {
    const found = [...clients].map(
      (client) =>
        `  --client ${client}: ${imports.servers
          .filter((s) => s.location.client === client)
          .map((s) => s.original)
          .join(', ')}`,
    );
    throw new GatehouseError(
      'USAGE',
      `servers were found in more than one client; run init for one of them:\n${found.join('\n')}`,
    );
  }
}

function describeImports(imports: Imports, dir: string): string {
  const out: string[] = [];
  const bySource = new Map<string, typeof imports.servers>();
  for (const server of imports.servers) {
    const source = `${CLIENT_NAMES[server.location.client]} (${server.location.file}, ${server.location.scope})`;
    bySource.set(source, [...(bySource.get(source) ?? []), server]);
  }
  for (const [source, servers] of bySource) {
    out.push(`From ${source}:`);
    for (const server of servers) {
      const entry = server.server as { command?: string; args?: string[]; url?: string; type?: string };
      const what = entry.url
        ? `${entry.type} ${entry.url}`
        : `stdio ${[entry.command, ...(entry.args ?? [])].join(' ')}`;
      out.push(`  ${server.name}: ${what}${server.disabled ? ' (disabled, kept disabled)' : ''}`);
      if (server.secrets.length > 0)
        out.push(`    secrets moved to ${ENV_FILE}: ${server.secrets.join(', ')}`);
      for (const note of server.notes) out.push(`    ${note}`);
    }
  }
  for (const merged of imports.merged) {
    out.push(`  ${merged.original} in ${merged.location.file} is the same server as "${merged.into}"`);
  }
  for (const skipped of imports.skipped) {
    out.push(`Left in ${skipped.location.file}: ${skipped.original}, because ${skipped.reason}`);
  }
  const count = Object.keys(imports.vault.variables).length;
  out.push('');
  out.push(`Wrote ${dir}:`);
  out.push(
    `  ${CONFIG_FILE}  ${imports.servers.length} server(s) behind Gatehouse${count > 0 ? `, secrets as \${NAME}` : ''}`,
  );
  if (count > 0) out.push(`  ${ENV_FILE}  ${count} secret(s), mode 0600, read at start (envFile)`);
  out.push('  policies/  reads allowed; writes, deletes and unclassified tools need approval; default deny');
  out.push('  policies/tests/starter.yaml  cases showing each rule');
  return out.join('\n');
}

/**
 * Loads what was written as Gatehouse will, and checks and tests its policies. Variables the client
 * hands over at launch are not set here: they stand in as placeholders, and are listed.
 */
async function verify(dir: string, configFile: string, imports: Imports, io: CliIo): Promise<string[]> {
  const fromClient = clientVariables(imports);
  // Only a reference without a default needs its variable set to load.
  const written = JSON.stringify(imports.servers.map((s) => s.server));
  const required = [...fromClient.keys()].filter((name) => written.includes(`\${${name}}`));
  const env = { ...process.env, ...Object.fromEntries(required.map((name) => [name, 'placeholder'])) };
  try {
    loadConfig(configFile, env);
  } catch (error) {
    throw new GatehouseError(
      'INTERNAL',
      `the config written does not load: ${(error as Error).message}`,
      {},
      { cause: error },
    );
  }
  const said: string[] = [];
  const capture: CliIo = { out: (text) => void said.push(text), err: (text) => void said.push(text) };
  const policies = path.join(dir, 'policies');
  const checked = await policyCheck({ policies }, capture);
  const tested =
    checked === 0 ? await policyTest({ policies, cases: [path.join(policies, 'tests')] }, capture) : 1;
  if (checked !== 0 || tested !== 0) {
    throw new GatehouseError(
      'INTERNAL',
      `the policies written do not pass their checks:\n${said.join('\n')}`,
    );
  }
  io.out(`Checked: the config loads; policies ${said.join('; ')}`);
  return [...fromClient].map(([name, by]) => `Gatehouse takes \${${name}} from its environment: ${by}.`);
}

/** `${NAME}` references the client provides: passthrough variables, and Claude Code's own `${VAR}`. */
function clientVariables(imports: Imports): Map<string, string> {
  const out = new Map<string, string>();
  for (const server of imports.servers) {
    for (const [name, expression] of Object.entries(server.passthrough)) {
      out.set(
        name,
        `${CLIENT_NAMES[server.location.client]} passes ${expression} as it did to ${server.original}`,
      );
    }
    for (const match of JSON.stringify(server.server).matchAll(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g,
    )) {
      const name = match[1]!;
      if (name in imports.vault.variables || name in server.passthrough || process.env[name]) continue;
      out.set(
        name,
        `set it where ${CLIENT_NAMES[server.location.client]} runs, as ${server.original} needed it`,
      );
    }
  }
  return out;
}

const undoScope = (flags: InitFlags) =>
  flags.from.length > 0
    ? flags.from.map((f) => ` --from ${path.resolve(f)}`).join('')
    : flags.client
      ? ` --client ${flags.client}`
      : '';

/** Puts back the latest backup of each client file init would read. */
function undo(flags: InitFlags, io: CliIo): number {
  const machine = machineOf(flags);
  const files = [...new Set(sourceLocations(flags, machine).locations.map((l) => l.file))];
  let restored = 0;
  for (const file of files) {
    const backup = undoLatest(file);
    if (!backup) continue;
    restored++;
    io.out(`Restored ${file} from ${backup} (the backup is removed; the Gatehouse folder is left as it is).`);
  }
  if (restored === 0) {
    throw new GatehouseError(
      'USAGE',
      `no backup made by \`gatehouse init --apply\` was found beside:\n  ${files.join('\n  ')}`,
    );
  }
  return 0;
}
