import type { Command } from 'commander';
import { listenerUrl, loadListenerAddress } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { undici } from '../shared/undici.js';
import type { GatehouseStatus } from '../main.js';
import { configOption, type CliIo } from './options.js';

/** A caller's bearer token (identity.tokens or a JWT), for a Gatehouse whose callers authenticate. */
const STATUS_TOKEN = 'GATEHOUSE_TOKEN';

export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description("show the running Gatehouse's downstream servers and their state")
    .addOption(configOption())
    .option('--url <url>', 'base URL of the running Gatehouse (default: from the config)')
    .option('--json', 'print the raw status JSON')
    .action(async (flags: { config: string; url?: string; json?: boolean }) => {
      const base = flags.url ?? listenerUrl(loadListenerAddress(flags.config).http);
      const token = process.env[STATUS_TOKEN];
      let status: GatehouseStatus;
      let statusCode: number | undefined;
      try {
        const response = await undici().request(`${base}/status`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
          headersTimeout: 5_000,
          bodyTimeout: 5_000,
        });
        statusCode = response.statusCode;
        if (statusCode !== 200) {
          await response.body.dump();
          throw new Error(`HTTP ${statusCode}`);
        }
        status = (await response.body.json()) as GatehouseStatus;
      } catch (error) {
        if (statusCode === 401 || statusCode === 400) {
          throw new GatehouseError(
            'UNAUTHENTICATED',
            `the Gatehouse at ${base} requires a caller's token for its status: ` +
              (token ? `the token in ${STATUS_TOKEN} was refused` : `set ${STATUS_TOKEN}`),
          );
        }
        throw new GatehouseError(
          'DOWNSTREAM_UNAVAILABLE',
          `no Gatehouse answering at ${base} (${(error as Error).message})`,
        );
      }
      if (flags.json) {
        io.out(JSON.stringify(status, null, 2));
        return;
      }
      io.out(formatStatus(status));
      const unhealthy = status.servers.some((s) => s.state !== 'ready' && s.state !== 'disabled');
      if (unhealthy || status.problems.length > 0) {
        process.exitCode = 1;
      }
    });
}

export function formatStatus(status: GatehouseStatus): string {
  const { sessions } = status;
  const lines = [
    `Gatehouse ${status.version} (pid ${status.pid}) on ${status.transport}${status.mcpUrl ? ` at ${status.mcpUrl}` : ''}, ` +
      `since ${status.startedAt}`,
    `Sessions: ${sessions.open} open with ${sessions.tasks} MCP task(s); since start ${sessions.expired} expired ` +
      `idle, ${sessions.closedAtCap} closed and ${sessions.refusedAtCap} refused at the per-caller cap; ` +
      `${status.http.abortedRequests} upload(s) aborted by their client`,
    ...(status.modern
      ? [
          `MCP 2026-07-28: ${status.modern.listens} open subscriptions/listen, ${status.modern.calls} call(s) ` +
            `under way, ${status.modern.waitingForInput} waiting for the client's input`,
        ]
      : []),
    `Approval page: ${status.approvalPage.sessions} signed-in session(s), ${status.approvalPage.tokens} API token(s)`,
    `Policy ${status.policy.version}: ${status.policy.files.length} file(s), loaded ${status.policy.loadedAt}` +
      (status.policy.lastError ? ' (the last reload FAILED; see problems)' : ''),
    auditLine(status.audit),
    '',
    'SERVER'.padEnd(20) +
      'TRANSPORT'.padEnd(17) +
      'STATE'.padEnd(12) +
      'TOOLS'.padEnd(7) +
      'RESTARTS'.padEnd(10) +
      'DETAIL',
  ];
  for (const s of status.servers) {
    lines.push(
      s.name.padEnd(20) +
        s.transport.padEnd(17) +
        s.state.padEnd(12) +
        String(s.tools).padEnd(7) +
        String(s.restarts).padEnd(10) +
        (s.lastError ?? (s.serverInfo ? `${s.serverInfo.name} ${s.serverInfo.version}` : '')),
    );
  }
  // Absent from a Gatehouse older than the channels.
  const channels = status.channels ?? [];
  if (channels.length > 0) {
    lines.push(
      '',
      'CHANNEL'.padEnd(20) + 'TYPE'.padEnd(16) + 'PENDING'.padEnd(9) + 'FAILED'.padEnd(8) + 'LAST ERROR',
    );
    for (const c of channels) {
      lines.push(
        c.name.padEnd(20) +
          c.type.padEnd(16) +
          String(c.pending).padEnd(9) +
          String(c.failed).padEnd(8) +
          (c.lastError ? `${c.lastError.message} (${c.lastError.at})` : ''),
      );
    }
  }
  if (status.problems.length > 0) {
    // Indent a problem's further lines (a policy error's source line and caret) under its bullet.
    lines.push('', 'Problems:', ...status.problems.map((p) => `  - ${p.replaceAll('\n', '\n    ')}`));
  }
  return lines.join('\n');
}

function auditLine(audit: GatehouseStatus['audit']): string {
  const otlp = audit.otlp
    ? `; SIEM copy: ${audit.otlp.sent} sent, ${audit.otlp.queued} queued, ` +
      `${audit.otlp.dropped.queueFull + audit.otlp.dropped.failed + audit.otlp.dropped.rejected} dropped`
    : '';
  return (
    `Audit log ${audit.dir}: ${audit.state}, ${audit.size} record(s), ${audit.checkpointSize} under a signed ` +
    `checkpoint${otlp}`
  );
}
