import { GatehouseError } from '../errors.js';
import { HASH_SIZE } from './merkle.js';
import {
  decodeBase64,
  openNote,
  parseVerifierKey,
  signNote,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
} from './note.js';

/**
 * The C2SP tlog-checkpoint body (https://c2sp.org/tlog-checkpoint): the text of a signed note that
 * commits to a Merkle tree head.
 *
 *     <origin>
 *     <tree size, decimal, no leading zeroes>
 *     <base64 RFC 6962 root hash>
 *     [<extension line>...]
 */
export interface Checkpoint {
  /** The log's identity; by convention also the name of the key that signs it. */
  origin: string;
  size: number;
  rootHash: Buffer;
  /** Opaque, non-empty lines; the spec advises against them, Gatehouse writes none. */
  extensions: string[];
}

/** A checkpoint with the note that carries it and the signatures a known key verified. */
export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** The whole signed note, as written. */
  note: string;
  /** Verified signatures; the first names the key that signed it. */
  signatures: OpenedNote['signatures'];
}

function malformed(detail: string): GatehouseError {
  return new GatehouseError('AUDIT_NOTE_INVALID', `malformed checkpoint: ${detail}`, {
    reason: 'malformed-checkpoint',
  });
}

const isLine = (line: string): boolean => line !== '' && !line.includes('\n');

export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  // An origin or extension holding a newline would frame another checkpoint than the one described.
  if (!isLine(origin)) throw malformed('the origin is one non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) throw malformed('the tree size is a non-negative integer');
  if (rootHash.length !== HASH_SIZE) throw malformed(`the root hash has ${HASH_SIZE} bytes`);
  if (!extensions.every(isLine)) throw malformed('extension lines are non-empty single lines');
  return [origin, String(size), rootHash.toString('base64'), ...extensions, ''].join('\n');
}

/** Reads a checkpoint body strictly: every rule of the spec, and a size JavaScript can count. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw malformed('the text ends in a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined) {
    throw malformed('a checkpoint has at least three lines');
  }
  if (origin === '') throw malformed('the origin line is empty');
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw malformed(`the tree size "${sizeText}" is not a decimal count without leading zeroes`);
  }
  const rootHash = decodeBase64(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) {
    throw malformed(`the root hash is not the base64 of ${HASH_SIZE} bytes`);
  }
  if (extensions.some((line) => line === '')) throw malformed('an extension line is empty');
  return { origin, size: Number(sizeText), rootHash, extensions };
}

/** Signs and reads back: a key that cannot produce a verifiable checkpoint fails here, not in an audit. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): SignedCheckpoint {
  const note = signNote(formatCheckpoint(checkpoint), [signer]);
  return openCheckpoint(note, [parseVerifierKey(signer.verifierKey)], checkpoint.origin);
}

/**
 * Opens a signed checkpoint note with the known keys (see `openNote` for the trust rules) and parses
 * its body. `origin`, when given, must match: a checkpoint of another log proves nothing about this one.
 */
export function openCheckpoint(
  note: string,
  verifiers: readonly NoteVerifier[],
  origin?: string,
): SignedCheckpoint {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw new GatehouseError(
      'AUDIT_NOTE_INVALID',
      `the checkpoint is for the log "${checkpoint.origin}", not "${origin}"`,
      { reason: 'other-origin', origin: checkpoint.origin },
    );
  }
  return { checkpoint, note, signatures: opened.signatures };
}
