import { pino, type Logger, type LevelWithSilent, type LoggerOptions } from 'pino';
import { prettyDestination } from './prettyLog.js';
import { createRedactor, type RedactionRules, type Redactor } from './redact/index.js';

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
  /** `audit.redact` of the config; default: the built-in secret names and detection. */
  redact?: RedactionRules;
  /** `auto` (default): readable lines when stderr is a terminal, JSON otherwise; a file always gets JSON. */
  format?: 'auto' | 'pretty' | 'json';
  /** Where stderr lines go (tests); default process.stderr. */
  stderr?: NodeJS.WriteStream;
}

/** The file destinations of loggers that write to `log.file`, for `reopenLogFile`. */
const fileDestinations = new WeakMap<Logger, { reopen(): void }>();

/**
 * Reopens the logger's file at its path, so that a rotated file (renamed by logrotate) is let go and
 * a new one begins. False when the logger writes to stderr, which has nothing to reopen.
 */
export function reopenLogFile(logger: Logger): boolean {
  const destination = fileDestinations.get(logger);
  destination?.reopen();
  return destination !== undefined;
}

export function createLogger(options: LogOptions = {}): Logger {
  const stderr = options.stderr ?? process.stderr;
  const format = options.format ?? 'auto';
  const pretty = !options.file && (format === 'pretty' || (format === 'auto' && stderr.isTTY === true));
  const file = options.file ? pino.destination({ dest: options.file, mkdir: true, sync: false }) : undefined;
  const destination =
    file ??
    (pretty
      ? prettyDestination(stderr, () => ({
          colors: stderr.isTTY === true && stderr.hasColors?.() === true,
          width: stderr.columns || 100,
        }))
      : pino.destination({ fd: 2, sync: false }));
  const logger = pino(
    {
      name: 'gatehouse',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      ...redactingOptions(createRedactor(options.redact ?? { names: [], paths: [], detect: true })),
    },
    destination,
  );
  if (file) fileDestinations.set(logger, file);
  return logger;
}

/** A logger that drops everything: for library use and unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

type LogRedactor = Pick<Redactor, 'redactValue' | 'redactText'>;

/**
 * Every logged value, message and error through the redactor: a downstream's error message, a URL or a
 * line a server wrote to stderr can hold a secret, and none may reach a log line. Objects are redacted
 * before pino serialises them (names at any depth, secret shapes in strings), errors after pino's own
 * serializer has turned them into `{type, message, stack}` (causes included), messages as text.
 */
export function redactingOptions(
  redactor: LogRedactor,
): Pick<LoggerOptions, 'formatters' | 'serializers' | 'hooks'> {
  return {
    formatters: {
      log(object) {
        // The error is left to the `err` serializer, which needs the Error itself to read its causes.
        const { err, ...rest } = object;
        const out = redactor.redactValue(rest) as Record<string, unknown>;
        return err === undefined ? out : { ...out, err };
      },
    },
    serializers: { err: (error: unknown) => redactor.redactValue(pino.stdSerializers.err(error as Error)) },
    hooks: {
      logMethod(args, method) {
        const list = args as unknown[];
        const [first] = list;
        // pino makes an error's message the line's message when none is given: give it, redacted.
        const error = first instanceof Error ? first : (first as { err?: unknown } | undefined)?.err;
        if (error instanceof Error && typeof list[1] !== 'string') {
          list.splice(0, 1, first instanceof Error ? { err: first } : first, error.message);
        }
        for (let i = 0; i < list.length; i++) {
          const value = list[i];
          if (typeof value === 'string') list[i] = redactor.redactText(value);
        }
        return method.apply(this, list as Parameters<typeof method>);
      },
    },
  };
}
