import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GatehouseError } from '../errors.js';
import { appendDurably } from '../store/durableFile.js';
import { serial } from '../shared/serial.js';
import { undici } from '../shared/undici.js';
import { CHECKPOINTS_FILE, checkpointLine } from './files.js';

/**
 * Copies each signed checkpoint to a second place the operator chooses, so that someone who does not
 * hold the log can tell when it was truncated or rewritten: a directory (the same checkpoints.jsonl as
 * the log's own, which `verify` can check the log against) and/or an HTTP endpoint (a POST of the note
 * as text/plain). Copies go one at a time, in order; a failed copy is reported, never fatal: the log
 * itself stays the record.
 */
export interface MirrorTarget {
  dir?: string;
  url?: string;
  /** Sent with the POST, such as Authorization; never in a message. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface CheckpointMirror {
  /** Queues a copy of the note; failures go to `onError`. */
  copy(note: string, size: number): void;
  /** Resolves once every queued copy has finished (or failed). */
  drain(): Promise<void>;
}

/** The URL as messages may show it: no credentials, no query (where tokens hide). */
export function describeUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

export function checkpointMirror(
  target: MirrorTarget,
  onError: (error: GatehouseError) => void,
): CheckpointMirror {
  const exclusive = serial();
  let last: Promise<unknown> = Promise.resolve();
  const failed = (size: number, where: string, detail: string, cause?: unknown) =>
    onError(
      new GatehouseError(
        'AUDIT_MIRROR_FAILED',
        `copying the checkpoint of size ${size} to ${where} failed: ${detail}`,
        { size, target: where },
        { cause },
      ),
    );

  const toDir = async (dir: string, note: string, size: number) => {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await appendDurably(join(dir, CHECKPOINTS_FILE), checkpointLine(note));
    } catch (error) {
      failed(size, dir, (error as NodeJS.ErrnoException).code ?? (error as Error).message, error);
    }
  };

  const toUrl = async (url: string, note: string, size: number) => {
    const where = describeUrl(url);
    const timeout = target.timeoutMs ?? 10_000;
    try {
      const response = await undici().request(url, {
        method: 'POST',
        headers: { ...target.headers, 'content-type': 'text/plain; charset=utf-8' },
        body: note,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode > 299) {
        failed(size, where, `the endpoint answered HTTP ${response.statusCode}`);
      }
    } catch (error) {
      failed(size, where, (error as Error).message, error);
    }
  };

  return {
    copy(note, size) {
      last = exclusive(async () => {
        if (target.dir !== undefined) await toDir(target.dir, note, size);
        if (target.url !== undefined) await toUrl(target.url, note, size);
      });
    },
    drain: async () => {
      await last;
    },
  };
}
