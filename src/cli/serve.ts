import { type Command, Option } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, reopenLogFile } from '../log.js';
import { serve, type Gatehouse } from '../main.js';
import { configOption, portArgument, type CliIo } from './options.js';

/**
 * How long a stop may take once a signal asked for it: up to 10 s for approved calls under way
 * (approvals' drain), 2 s for children between SIGTERM and SIGKILL, and some slack. Stopping normally
 * ends well before; this is the bound a supervisor can rely on even if something still holds the
 * process up.
 */
export const STOP_DEADLINE_MS = 15_000;

interface ServeFlags {
  config: string;
  http?: boolean;
  port?: number;
  host?: string;
  logLevel?: string;
  logFormat?: string;
}

export function registerServe(program: Command, _io: CliIo): void {
  program
    .command('serve', { isDefault: true })
    .description('run Gatehouse: MCP on stdio (default) or Streamable HTTP with --http')
    .addOption(configOption())
    .option('--http', 'serve MCP over Streamable HTTP at /mcp instead of stdio')
    .option('-p, --port <port>', 'HTTP port (overrides http.port; 0 picks a free port)', portArgument(0))
    .option('--host <host>', 'HTTP bind address (overrides http.host)')
    .addOption(
      new Option('--log-level <level>', 'log level (overrides log.level)').choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'auto (readable on a terminal, else JSON), pretty or json (overrides log.format)',
      ).choices(['auto', 'pretty', 'json']),
    )
    .action(async (flags: ServeFlags) => {
      const config = withOverrides(loadConfig(flags.config), flags);
      const logger = createLogger({
        level: config.log.level,
        file: config.log.file,
        redact: config.audit.redact,
        format: config.log.format,
      });
      // On every front: a supervisor's SIGTERM or a terminal's Ctrl-C stops Gatehouse even while a
      // stdio client keeps stdin open. One that comes during start-up stops it once started (start-up
      // is bounded by timeouts.connectMs), so that its children are ended and its lock released. A
      // second signal ends the process at once (the default action).
      let gatehouse: Gatehouse | undefined;
      let received: NodeJS.Signals | undefined;
      const stopOn = (running: Gatehouse, signal: NodeJS.Signals | 'fault') => {
        if (signal !== 'fault') logger.info({ signal }, 'stopping on signal');
        const watchdog = setTimeout(() => {
          logger.error({ signal, deadlineMs: STOP_DEADLINE_MS }, 'Gatehouse did not stop in time; exiting');
          logger.flush();
          process.exit(1);
        }, STOP_DEADLINE_MS);
        // Only a safety net: a stopped Gatehouse exits on its own, without waiting for it.
        watchdog.unref();
        void running.stop(signal === 'fault' ? 'a fault in Gatehouse' : signal);
      };
      // A fault nothing caught ends the process, but first Gatehouse stops as on SIGTERM: the audit
      // trail commits the records it still holds (allowed calls' wait up to queuedMaxDelayMs), children
      // are ended and the store's lock released. The exit code says it failed; a second fault, or one
      // during start-up, exits at once.
      let faulted = false;
      process.on('uncaughtException', (error) => {
        logger.fatal({ err: error }, 'Gatehouse failed: stopping');
        process.exitCode = 1;
        if (!gatehouse || faulted) {
          logger.flush();
          process.exit(1);
        }
        faulted = true;
        stopOn(gatehouse, 'fault');
      });
      const onSignal = (signal: NodeJS.Signals) => {
        received = signal;
        if (gatehouse) stopOn(gatehouse, signal);
        else logger.info({ signal }, 'signal during start-up: stopping as soon as Gatehouse has started');
      };
      // SIGHUP: logrotate's "the file was moved", when logging to a file; otherwise the terminal went
      // away, which stops Gatehouse like SIGTERM instead of killing it mid-call (the default action).
      const onHangup = () => {
        if (reopenLogFile(logger))
          logger.info({ signal: 'SIGHUP', file: config.log.file }, 'log file reopened');
        else if (!received) onSignal('SIGHUP');
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      process.on('SIGHUP', onHangup);
      try {
        gatehouse = await serve({ config, logger, http: Boolean(flags.http) });
      } catch (error) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onHangup);
        throw error;
      }
      if (received) stopOn(gatehouse, received);
      process.on('unhandledRejection', (reason) =>
        logger.error({ reason: String(reason) }, 'unhandled rejection'),
      );
      await gatehouse.stopped;
      logger.flush();
    });
}

function withOverrides(config: Config, flags: ServeFlags): Config {
  return {
    ...config,
    http: { ...config.http, port: flags.port ?? config.http.port, host: flags.host ?? config.http.host },
    log: {
      ...config.log,
      level: (flags.logLevel as Config['log']['level']) ?? config.log.level,
      format: (flags.logFormat as Config['log']['format']) ?? config.log.format,
    },
  };
}
