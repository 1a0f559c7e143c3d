import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Keys whose values never reach a log line, wherever they sit in the logged object.
 * Headers and env blocks of the config carry secrets (tokens, API keys) by design.
 */
export const REDACT_PATHS = [
  'headers',
  '*.headers',
  'env',
  '*.env',
  '*.*.env',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  // identity.tokens[] of the config, logged as the identity block, the config, or one level deeper.
  'tokens[*].token',
  '*.tokens[*].token',
  '*.*.tokens[*].token',
  'password',
  '*.password',
  'secret',
  '*.secret',
  // approvers.oidc.clientSecret and approvers.accounts[].passwordHash, wherever the block is logged.
  'clientSecret',
  '*.clientSecret',
  '*.*.clientSecret',
  '*.*.*.clientSecret',
  'passwordHash',
  '*.passwordHash',
  'accounts[*].passwordHash',
  '*.accounts[*].passwordHash',
];

export interface LogOptions {
  level?: LevelWithSilent;
  /** A file path, or undefined for stderr. stdout is reserved for MCP frames in stdio mode. */
  file?: string;
}

export function createLogger(options: LogOptions = {}): Logger {
  const destination = options.file
    ? pino.destination({ dest: options.file, mkdir: true, sync: false })
    : pino.destination({ fd: 2, sync: false });
  return pino(
    {
      name: 'gatehouse',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    destination,
  );
}

/** A logger that drops everything: for library use and unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
