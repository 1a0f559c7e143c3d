import { Option, type Command } from 'commander';
import { listenerUrl, loadListenerAddress } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { argumentsLine } from '../approvals/argumentsLine.js';
import { cut, outcomeOf, type Outcome } from '../approvals/outcome.js';
import { QUARANTINE_RECOVERY } from '../approvals/quarantine.js';
import {
  isQuarantined,
  type ApprovalView,
  type QuarantinedView,
  type RequestView,
} from '../approvals/web/api.js';
import {
  ApprovalApiError,
  connectApprovals,
  type ApprovalsClient,
  type Credentials,
} from '../approvals/web/client.js';
import { segmentText, summarizeFlags } from '../approvals/web/unicode.js';
import { configOption, countArgument, type CliIo } from './options.js';
import { readPassword, readStdin } from './secret.js';

/**
 * `gatehouse approvals list|show|approve|reject`, through the approval API of a running Gatehouse.
 *
 * Credentials: an API token (`GATEHOUSE_APPROVER_TOKEN`, from the approval page's "API tokens"), or a
 * local account (`--user`, with the password from `GATEHOUSE_APPROVER_PASSWORD`, `--password-stdin` or
 * a prompt without echo), exchanged for a five-minute token that is revoked when the command ends.
 */

interface ConnectionFlags {
  config: string;
  url?: string;
  token?: string;
  user?: string;
  passwordStdin?: boolean;
}

export const ENV = {
  url: 'GATEHOUSE_URL',
  token: 'GATEHOUSE_APPROVER_TOKEN',
  user: 'GATEHOUSE_APPROVER_USER',
  password: 'GATEHOUSE_APPROVER_PASSWORD',
} as const;

export function registerApprovalCommands(program: Command, io: CliIo): void {
  const approvals = program
    .command('approvals')
    .description('list and decide approval requests of a running Gatehouse (through its approval API)');

  withConnection(approvals.command('list'))
    .description('list pending approval requests, and quarantined records')
    .option('--all', 'every request, decided and closed ones too')
    .option('--state <states>', 'only these states, comma-separated (pending,approved,executed,...)')
    .option('--limit <n>', 'at most this many, the latest created first (default: every one)', countArgument)
    .option('--json', 'print the API response as JSON')
    .action((flags: ConnectionFlags & { all?: boolean; state?: string; json?: boolean; limit?: number }) =>
      withClient(io, flags, async (client) => {
        // Quarantined records need an operator as much as pending requests need an approver.
        const states = flags.state ? flags.state.split(',') : flags.all ? [] : ['pending', 'quarantined'];
        const { listed, more } = await client.list(states, flags.limit);
        io.out(flags.json ? JSON.stringify(listed, null, 2) : formatList(listed, Date.now()));
        if (more)
          io.err(`the latest ${listed.length} shown; more may match (raise --limit, or leave it out)`);
      }),
    );

  withConnection(approvals.command('show').argument('<id>', 'approval request id'))
    .description(
      'show one request: the tool, the arguments exactly (suspicious characters marked), the tally',
    )
    .option('--json', 'print the API response as JSON')
    .action((id: string, flags: ConnectionFlags & { json?: boolean }) =>
      withClient(io, flags, async (client) => {
        const request = await client.get(id);
        io.out(flags.json ? JSON.stringify(request, null, 2) : formatRequest(request, Date.now()));
      }),
    );

  withConnection(approvals.command('approve').argument('<id>', 'approval request id'))
    .description('approve a request: the exact call shown by `gatehouse approvals show`')
    .option('--reason <text>', 'a note recorded with the approval')
    .action((id: string, flags: ConnectionFlags & { reason?: string }) =>
      withClient(io, flags, async (client) => {
        const decided = await client.decide(id, 'approve', flags.reason);
        io.out(
          `approved ${decided.server} / ${decided.tool} (${decided.id}): now ${decided.state}, ${tallyText(decided)}`,
        );
      }),
    );

  withConnection(approvals.command('reject').argument('<id>', 'approval request id'))
    .description('reject a request; the reason goes back to the requester and the model')
    .requiredOption('--reason <text>', 'why (required)')
    .action((id: string, flags: ConnectionFlags & { reason: string }) =>
      withClient(io, flags, async (client) => {
        const decided = await client.decide(id, 'reject', flags.reason);
        io.out(`rejected ${decided.server} / ${decided.tool} (${decided.id}): now ${decided.state}`);
      }),
    );
}

function withConnection(command: Command): Command {
  return command
    .addOption(configOption())
    .addOption(
      new Option('--url <url>', 'base URL of the running Gatehouse (default: from the config)').env(ENV.url),
    )
    .addOption(
      new Option(
        '--token <token>',
        'approver API token (prefer the environment variable: argv is visible to others)',
      ).env(ENV.token),
    )
    .addOption(new Option('--user <id>', 'local approver account, instead of a token').env(ENV.user))
    .option(
      '--password-stdin',
      `read the --user password from standard input (else ${ENV.password}, else a prompt)`,
    );
}

async function withClient(
  io: CliIo,
  flags: ConnectionFlags,
  run: (client: ApprovalsClient) => Promise<void>,
) {
  const url = flags.url ?? urlFromConfig(flags.config);
  const creds = await credentials(flags);
  let client: ApprovalsClient | undefined;
  try {
    client = await connectApprovals(url, creds);
    await run(client);
  } catch (error) {
    if (!(error instanceof ApprovalApiError)) throw error;
    io.err(`gatehouse: ${client ? '' : `cannot sign in to ${url}: `}${error.message}`);
    process.exitCode = 1;
  } finally {
    await client?.close();
  }
}

async function credentials(flags: ConnectionFlags): Promise<Credentials> {
  if (flags.user) {
    const fromEnv = process.env[ENV.password];
    const password = flags.passwordStdin
      ? await readStdin()
      : (fromEnv ?? (process.stdin.isTTY ? await readPassword(`Password for ${flags.user}: `) : undefined));
    if (!password) {
      throw new GatehouseError(
        'USAGE',
        `no password for ${flags.user}: set ${ENV.password}, pass --password-stdin, or run in a terminal to be asked`,
      );
    }
    return { user: flags.user, password };
  }
  if (flags.token) return { token: flags.token };
  throw new GatehouseError(
    'USAGE',
    `not signed in: set ${ENV.token} (create one on the approval page under "API tokens") or pass --user for a local account`,
  );
}

/** approvals.publicUrl, else the listener (as `gatehouse status` finds it). */
function urlFromConfig(configFile: string): string {
  const { http, publicUrl } = loadListenerAddress(configFile);
  return publicUrl ?? listenerUrl(http);
}

function tallyText(request: RequestView): string {
  return request.tally.map((t) => `${t.rule} ${t.approvedBy.length}/${t.quorum}`).join(', ');
}

/** How much of a row's arguments line and outcome a terminal row shows; `show` has all of it. */
const ROW_TEXT = 60;

export function formatList(list: readonly ApprovalView[], now: number): string {
  if (list.length === 0) return 'no approval requests';
  const rows = list.map((r) => {
    if (isQuarantined(r)) {
      return [r.id, r.state, '', '', '', '', `${r.problem.code}: see \`gatehouse approvals show ${r.id}\``];
    }
    const outcome = outcomeOfView(r);
    return [
      r.id,
      outcome?.kind === 'executed-with-tool-error' ? 'executed, tool error' : r.state,
      `${r.server} / ${r.tool}`,
      r.caller.id,
      tallyText(r),
      cut(argumentsLine(r.arguments), ROW_TEXT),
      r.state === 'pending'
        ? `expires ${until(r.expiresAt, now)}`
        : outcome && outcome.kind !== 'executed'
          ? cut(`${outcome.text}${outcome.detail ? `: ${outcome.detail}` : ''}`, ROW_TEXT)
          : '',
    ];
  });
  const header = ['ID', 'STATE', 'TOOL', 'REQUESTED BY', 'APPROVALS', 'ARGUMENTS', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => visible(row[i]!).length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => visible(cell).padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatRequest(r: ApprovalView, now: number): string {
  if (isQuarantined(r)) return formatQuarantined(r);
  const { args, flags } = exactly(r.arguments);
  const lines = [
    `${visible(r.server)} / ${visible(r.tool)}   ${r.state}`,
    `id            ${r.id}`,
    `requested by  ${r.caller.id}${r.caller.groups.length ? ` (${r.caller.groups.join(', ')})` : ''}`,
    `rules         ${r.rules.join(', ')}`,
    `reason        ${visible(r.reason)}`,
    `created       ${r.createdAt}`,
    `expires       ${r.expiresAt} (${until(r.expiresAt, now)})`,
    `digest        ${r.digest}`,
    `approvals     ${tallyText(r)}`,
    ...r.decisions.map(
      (d) =>
        `  ${d.decision === 'approve' ? 'approved' : 'rejected'} by ${d.approver.id} at ${d.at}${d.reason ? `: ${visible(d.reason)}` : ''}`,
    ),
    ...(r.closed ? [`closed        ${visible(r.closed.reason)}`] : []),
    ...outcomeLines(outcomeOfView(r)),
  ];
  lines.push(...warnings(flags, 'the arguments contain'), '', 'arguments:', args);
  return lines.join('\n');
}

/** The API's outcome, or the same worked out here when a Gatehouse from before it sends none. */
function outcomeOfView(r: RequestView): Outcome | undefined {
  return r.outcome ?? outcomeOf(r);
}

/**
 * How it ended, and what a failure said in full (a tool's error, why it failed): rejections and closings
 * already have their reasons above.
 */
function outcomeLines(outcome: Outcome | undefined): string[] {
  if (!outcome) return [];
  const said =
    outcome.detail !== undefined && (outcome.kind === 'executed-with-tool-error' || outcome.kind === 'failed')
      ? [
          outcome.kind === 'failed' ? 'why:' : "the tool's error:",
          ...outcome.detail.split('\n').map((l) => `  ${visible(l)}`),
        ]
      : [];
  return [`outcome       ${outcome.text}`, ...(said.length > 0 ? ['', ...said] : [])];
}

/** A record set aside as found: why, what to do, and the record itself (untrusted, shown exactly). */
function formatQuarantined(r: QuarantinedView): string {
  const { args: record, flags } = exactly(r.record);
  return [
    `${r.id}   quarantined`,
    `problem       ${r.problem.code}: ${visible(r.problem.message)}`,
    `since         ${r.quarantinedAt}`,
    `recovery      ${QUARANTINE_RECOVERY}`,
    ...warnings(flags, 'the record contains'),
    '',
    'the record as found:',
    record,
  ].join('\n');
}

/** JSON exactly as stored, with characters that can deceive a reader marked ⟦U+XXXX⟧. */
function exactly(value: unknown) {
  const segments = segmentText(JSON.stringify(value, null, 2) ?? 'undefined');
  const args = segments
    .map((s) =>
      'text' in s
        ? s.text
        : s.flag.kind === 'confusable'
          ? `${s.flagged}⟦${s.flag.label}⟧`
          : `⟦${s.flag.label}⟧`,
    )
    .join('');
  return { args, flags: summarizeFlags(segments) };
}

function warnings(flags: ReturnType<typeof summarizeFlags>, subject: string): string[] {
  if (flags.length === 0) return [];
  return [
    '',
    `WARNING: ${subject} characters that can deceive a reader, marked ⟦U+XXXX⟧ below:`,
    ...flags.map(({ flag, count }) => `  ${flag.label} ×${count}: ${visible(flag.description)}`),
  ];
}

/**
 * Text a client sent, made safe for a one-line field in a terminal: controls (escape sequences, line
 * breaks), bidi and invisible characters shown as code points.
 */
export function visible(text: string): string {
  return segmentText(text)
    .map((s) => ('text' in s ? s.text : s.flag.kind === 'confusable' ? s.flagged : `⟦${s.flag.label}⟧`))
    .join('')
    .replaceAll('\n', '⟦U+000A⟧');
}

function until(iso: string, now: number): string {
  const minutes = Math.round((Date.parse(iso) - now) / 60_000);
  return minutes >= 0 ? `in ${minutes} min` : `${-minutes} min ago`;
}
