import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { DURABLE_EVENTS, UNRECORDED_EVENTS, type AuditEvent } from './events.js';
import { createKeyFile, readKeyFile } from './keys.js';
import { openAuditLog, type Appended, type AuditLog, type AuditLogStatus } from './log.js';
import type { AuditLogSettings } from './options.js';
import type { Receipt } from './receipt.js';

/**
 * The audit trail as the rest of Gatehouse sees it: the signed log of one directory, opened with the
 * configured key, taking events from the vocabulary. Events that govern an execution are fsync'd before
 * their promise resolves; the others share fsyncs (group commit).
 */
export interface AuditTrail {
  readonly dir: string;
  /** The digest key of `argumentsDigest` (HMAC-SHA256), from the key file. */
  readonly digestKey: Buffer;
  /** Appends the event; resolves once it is durable. Rejects (AUDIT_*) when it cannot be written. */
  record(event: AuditEvent): Promise<Appended | undefined>;
  /**
   * The hot path's append: true when the log is healthy and the event was queued for the next group
   * commit without waiting for it. False when the log is failing: the caller must `record` and wait.
   */
  recordQueued(event: AuditEvent): boolean;
  /**
   * A receipt for a durable record, with its line: signs a checkpoint covering it first when none
   * does yet.
   */
  receipt(appended: Appended): Promise<Receipt>;
  status(): AuditLogStatus & { problem?: string };
  close(): Promise<void>;
}

export interface AuditTrailOptions {
  config: Config['audit'];
  logger: Logger;
  now?: () => Date;
  /** Events the trail itself raises that are not appended (checkpoints), for the bus. */
  onEvent?: (event: AuditEvent) => void;
  /**
   * When the directory is locked by another Gatehouse, write to the first free sibling log (`<dir>-2`
   * to `<dir>-8`) instead of failing: stdio clients launch one Gatehouse per session on one config.
   * Each log is a chain of its own; `audit verify` and the reports read them all.
   */
  spill?: boolean;
}

/** The most logs one audit directory spills into, counting itself. */
export const MAX_SPILL_LOGS = 8;

/** The log directories of one configured audit dir: itself, then `<dir>-2` … `<dir>-8`. */
export const spillDirs = (dir: string): string[] =>
  Array.from({ length: MAX_SPILL_LOGS }, (_, i) => (i === 0 ? dir : `${dir}-${i + 1}`));

/**
 * Opens the trail: the key file (created on first start, so `npm start` works with no setup, and named
 * in the log so the operator knows to publish its verifier key), then the log.
 */
export async function openAuditTrail(options: AuditTrailOptions): Promise<AuditTrail> {
  const { config, logger } = options;
  const log = logger.child({ module: 'audit' });
  if (!(await exists(config.keyFile))) {
    const name = config.origin ?? `gatehouse/${hostname()}`;
    const { verifierKey } = await createKeyFile(config.keyFile, name);
    log.warn(
      { keyFile: config.keyFile, verifierKey },
      'created an audit signing key; publish its verifier key to whoever checks the trail',
    );
  }
  const keys = await readKeyFile(config.keyFile);
  const repairs: AuditEvent[] = [];
  const open = (dir: string) =>
    openAuditLog({
      dir,
      signer: keys.signer,
      verifiers: keys.verifiers,
      ...(config.origin ? { origin: config.origin } : {}),
      settings: logSettings(config),
      ...(options.now ? { now: options.now } : {}),
      onRepair: (repair) => {
        log.warn({ file: repair.file, bytes: repair.length }, 'cut a torn last line off the audit log');
        repairs.push({ event: 'audit.repaired', file: repair.file, bytes: repair.length });
      },
      onCheckpoint: (checkpoint) =>
        options.onEvent?.({
          event: 'audit.checkpoint',
          size: checkpoint.size,
          rootHash: checkpoint.rootHash.toString('hex'),
          keyName: checkpoint.key,
        }),
      onError: (error) => log.error({ code: error.code, reason: error.message }, 'audit log problem'),
    });
  const auditLog = await openFirstFree(open, options.spill ? spillDirs(config.dir) : [config.dir]);
  if (auditLog.dir !== config.dir) {
    log.warn(
      { dir: auditLog.dir, locked: config.dir },
      'another Gatehouse writes the audit log; writing to a sibling log',
    );
  }

  const syncEverything = config.durability === 'sync';
  const record = async (event: AuditEvent): Promise<Appended | undefined> => {
    if (UNRECORDED_EVENTS.has(event.event)) return undefined;
    return auditLog.append(event, { sync: syncEverything || DURABLE_EVENTS.has(event.event) });
  };
  for (const repair of repairs) await record(repair);

  return {
    dir: auditLog.dir,
    digestKey: keys.digestKey,
    record,
    recordQueued(event) {
      // With `durability: sync` nothing is queued: every caller waits for its record's fsync.
      if (syncEverything || auditLog.status().state !== 'ok') return false;
      // Its failure shows in status() and sends the next calls down the waiting path.
      return auditLog.enqueue(event);
    },
    async receipt({ seq, line }) {
      const latest = auditLog.latestCheckpoint();
      if (!latest || latest.size <= seq) await auditLog.checkpoint();
      return auditLog.inclusionProof(seq, line);
    },
    status() {
      const status = auditLog.status();
      return status.state === 'ok' || status.state === 'closed'
        ? status
        : {
            ...status,
            problem: `the audit log cannot be written (${status.lastError ?? status.state}): tool calls are refused until it can`,
          };
    },
    close: () => auditLog.close(),
  };
}

/** The log engine's own settings, out of the config section that embeds them. */
export function logSettings(config: Config['audit']): AuditLogSettings {
  const {
    dir: _dir,
    keyFile: _keyFile,
    origin: _origin,
    redact: _redact,
    otlp: _otlp,
    durability: _durability,
    ...settings
  } = config;
  return settings;
}

async function openFirstFree(open: (dir: string) => Promise<AuditLog>, dirs: string[]): Promise<AuditLog> {
  for (const [i, dir] of dirs.entries()) {
    try {
      return await open(dir);
    } catch (error) {
      if (!isGatehouseError(error, 'AUDIT_LOG_LOCKED') || i === dirs.length - 1) throw error;
    }
  }
  throw new GatehouseError('INTERNAL', 'no audit directory to open');
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new GatehouseError('AUDIT_KEY_UNAVAILABLE', `${path}: ${(error as Error).message}`, { file: path });
  }
}

/** The trail could not take `event`: typed, naming the event and why, for the caller to act on. */
export function auditUnavailable(event: AuditEvent, error: unknown): GatehouseError {
  const reason = isGatehouseError(error) ? error.message : String(error);
  return new GatehouseError(
    'AUDIT_LOG_UNAVAILABLE',
    `the audit trail cannot record ${event.event} (${reason})`,
    { event: event.event },
    { cause: error },
  );
}

/** A call cannot run without its record: what the model reads. */
export function auditRefusal(error: unknown): GatehouseError {
  const reason = error instanceof Error ? error.message : String(error);
  return new GatehouseError(
    'AUDIT_LOG_UNAVAILABLE',
    `the audit record of this call cannot be written, so the call was not executed: ${reason}`,
    {},
    { cause: error },
  );
}
