import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { GatehouseError } from '../errors.js';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, byte for byte as Go's
 * golang.org/x/mod/sumdb/note writes and reads them (its test vectors are in note.test.ts):
 *
 *     <text ending in \n>
 *     <blank line>
 *     — <key name> base64(4-byte key id || 64-byte Ed25519 signature)
 *
 * Verifier keys read `<name>+<8 hex key id>+base64(0x01 || public key)`, signer keys
 * `PRIVATE+KEY+<name>+<8 hex key id>+base64(0x01 || 32-byte seed)`, and the key id is the first four
 * bytes of SHA-256(name || 0x0A || 0x01 || public key). No npm package implements the format (the
 * sigstore packages verify Rekor's checkpoints only, without signing), so it lives here, small.
 */

const ALG_ED25519 = 0x01;
/** Go's limit; the spec asks verifiers to accept at least 16. */
const MAX_SIGNATURES = 100;
const SIGNATURE_PREFIX = '— ';
// DER wrappers that turn a raw 32-byte Ed25519 seed or public key into a node:crypto key.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** The verifier key string it was made from. */
  readonly key: string;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The verifier key string of the matching public key. */
  readonly verifierKey: string;
  sign(message: Uint8Array): Buffer;
}

/** One signature line: the key it names and its base64 text (4-byte key id and signature). */
export interface NoteSignature {
  name: string;
  keyId: number;
  base64: string;
}

export interface OpenedNote {
  /** The signed text, ending in a newline. */
  text: string;
  /** Signatures by known keys, each verified. */
  signatures: NoteSignature[];
  /** Signatures by keys the caller did not pass, ignored as the spec requires. */
  unverified: NoteSignature[];
}

/** No lone UTF-16 surrogates, which no UTF-8 can carry (with `u`, a paired surrogate is one code point). */
const wellFormed = (text: string): boolean => !/\p{Cs}/u.test(text);

/** Non-empty, no Unicode spaces, no plus. */
export function isValidKeyName(name: string): boolean {
  return name !== '' && wellFormed(name) && !/[\p{White_Space}+]/u.test(name);
}

/** First four bytes (big-endian) of SHA-256(name || 0x0A || type byte || public key). */
export function keyId(name: string, typedPublicKey: Uint8Array): number {
  return createHash('sha256').update(name).update('\n').update(typedPublicKey).digest().readUInt32BE(0);
}

export const formatKeyId = (id: number): string => id.toString(16).padStart(8, '0');

/** Standard base64 with padding, refusing anything `Buffer.from` would silently skip or repair. */
export function decodeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Round-tripping refuses non-zero padding bits, so each byte string has exactly one encoding.
  return bytes.toString('base64') === text ? bytes : undefined;
}

function keyInvalid(message: string, context: Record<string, unknown> = {}): GatehouseError {
  return new GatehouseError('AUDIT_KEY_INVALID', message, context);
}

const publicKeyObject = (raw: Uint8Array): KeyObject =>
  createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });

const rawPublicKey = (key: KeyObject): Buffer =>
  key.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length);

/** Splits `a+b+c` at its first `parts - 1` pluses: the base64 at the end may hold more. */
function keyParts(text: string, parts: number, kind: string): string[] {
  const fields = text.split('+');
  if (fields.length < parts) throw keyInvalid(`a ${kind} key has ${parts} parts separated by +`);
  return [...fields.slice(0, parts - 1), fields.slice(parts - 1).join('+')];
}

function checkNameAndId(name: string, idHex: string, kind: string): number {
  if (!isValidKeyName(name)) {
    throw keyInvalid(`the ${kind} key's name is empty or holds a space or plus`, { name });
  }
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw keyInvalid(`the ${kind} key's id is not 8 lowercase hex digits`);
  return Number.parseInt(idHex, 16);
}

function typedKeyMaterial(base64: string, kind: string): Buffer {
  const typed = decodeBase64(base64);
  if (typed === undefined || typed.length === 0) throw keyInvalid(`the ${kind} key material is not base64`);
  if (typed[0] !== ALG_ED25519) {
    throw keyInvalid(`the ${kind} key is not an Ed25519 key (type byte ${typed[0]}, expected 1)`);
  }
  if (typed.length !== 33) throw keyInvalid(`an Ed25519 ${kind} key has 32 bytes, not ${typed.length - 1}`);
  return typed;
}

/** Parses `<name>+<hex id>+<base64>`; throws AUDIT_KEY_INVALID naming what is wrong. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const [name, idHex, material] = keyParts(vkey, 3, 'verifier') as [string, string, string];
  const id = checkNameAndId(name, idHex, 'verifier');
  const typed = typedKeyMaterial(material, 'verifier');
  if (keyId(name, typed) !== id) {
    throw keyInvalid(`the verifier key ${name}+${idHex} does not match its key id`, { name, keyId: idHex });
  }
  let publicKey: KeyObject;
  try {
    publicKey = publicKeyObject(typed.subarray(1));
  } catch {
    throw keyInvalid(`the verifier key ${name}+${idHex} is not an Ed25519 public key`, {
      name,
      keyId: idHex,
    });
  }
  return {
    name,
    keyId: id,
    key: vkey,
    verify: (message, signature) => signature.length === 64 && verify(null, message, publicKey, signature),
  };
}

/**
 * Parses `PRIVATE+KEY+<name>+<hex id>+<base64 seed>`. Errors never quote the key: it is a secret.
 */
export function parseSignerKey(skey: string): NoteSigner {
  const [private1, private2, name, idHex, material] = keyParts(skey, 5, 'signer') as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (private1 !== 'PRIVATE' || private2 !== 'KEY') throw keyInvalid('a signer key starts with PRIVATE+KEY+');
  const id = checkNameAndId(name, idHex, 'signer');
  const seed = typedKeyMaterial(material, 'signer').subarray(1);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  const verifierKey = verifierKeyFor(name, publicKey);
  if (verifierKey.split('+')[1] !== idHex) {
    throw keyInvalid(`the signer key ${name}+${idHex} does not match its key id`, { name, keyId: idHex });
  }
  return { name, keyId: id, verifierKey, sign: (message) => sign(null, message, privateKey) };
}

/** The verifier key string of an Ed25519 public key (32 raw bytes). */
export function verifierKeyFor(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw keyInvalid('a key name is non-empty, without spaces or plus', { name });
  if (publicKey.length !== 32)
    throw keyInvalid(`an Ed25519 public key has 32 bytes, not ${publicKey.length}`);
  const typed = Buffer.concat([Buffer.of(ALG_ED25519), publicKey]);
  return `${name}+${formatKeyId(keyId(name, typed))}+${typed.toString('base64')}`;
}

/** A fresh Ed25519 key pair as signer and verifier key strings. */
export function generateNoteKey(name: string): { signerKey: string; verifierKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const verifierKey = verifierKeyFor(name, rawPublicKey(publicKey));
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519.length);
  const material = Buffer.concat([Buffer.of(ALG_ED25519), seed]).toString('base64');
  const [keyName, idHex] = verifierKey.split('+') as [string, string];
  return { signerKey: `PRIVATE+KEY+${keyName}+${idHex}+${material}`, verifierKey };
}

/** Valid UTF-8 without ASCII control characters other than newline, as the spec requires. */
function isNoteText(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return wellFormed(text) && !/[\u0000-\u0009\u000b-\u001f]/.test(text);
}

function malformed(detail: string): GatehouseError {
  return new GatehouseError('AUDIT_NOTE_INVALID', `malformed note: ${detail}`, { reason: 'malformed' });
}

/** Signs `text` (which ends in a newline) with each signer, in order. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n') || !isNoteText(text)) {
    throw malformed('the text must end in a newline and hold no control characters but newlines');
  }
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((signer) => {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(signer.keyId);
    const signature = Buffer.concat([id, signer.sign(message)]).toString('base64');
    return `${SIGNATURE_PREFIX}${signer.name} ${signature}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/** `<name>+<8 hex key id>`: how a key is named in messages and key files. */
export const keyLabel = (name: string, id: number): string => `${name}+${formatKeyId(id)}`;

/** A signed note's parts, read strictly but not verified: for looking at a note before trusting it. */
export interface ParsedNote {
  text: string;
  /** Every signature line, in order, as written. */
  lines: string[];
  /** The signature of each line. */
  signatures: NoteSignature[];
}

export function parseNote(message: string | Uint8Array): ParsedNote {
  let note: string;
  try {
    note = new TextDecoder('utf-8', { fatal: true }).decode(
      typeof message === 'string' ? Buffer.from(message, 'utf8') : message,
    );
  } catch {
    throw malformed('not valid UTF-8');
  }
  if (typeof message === 'string' && !wellFormed(message)) throw malformed('not valid UTF-8');
  if (!isNoteText(note)) throw malformed('a control character other than newline');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw malformed('the signatures must end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed('a signature line starts with "— "');
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const base64 = space < 0 ? '' : rest.slice(space + 1);
    const raw = decodeBase64(base64);
    if (raw === undefined || !isValidKeyName(name) || raw.length < 5) {
      throw malformed('a signature line is "— <key name> <base64 signature>"');
    }
    return { name, keyId: raw.readUInt32BE(0), base64 };
  });
  return { text, lines, signatures };
}

/**
 * Parses a signed note and verifies the signatures of the given keys, following the spec and Go's
 * reader: signatures of unknown keys are kept aside, a known key's bad signature rejects the note, and
 * a note no known key verified is rejected. Throws AUDIT_NOTE_INVALID with `context.reason`:
 * 'malformed', 'unverified' (with `context.unverified`), 'bad-signature' or 'ambiguous-key'.
 */
export function openNote(message: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, lines, signatures: all } = parseNote(message);
  const known = new Map<string, NoteVerifier[]>();
  for (const v of verifiers) {
    const label = keyLabel(v.name, v.keyId);
    known.set(label, [...(known.get(label) ?? []), v]);
  }
  const signed = Buffer.from(text, 'utf8');
  const signatures: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const signature = all[i]!;
    const label = keyLabel(signature.name, signature.keyId);
    const candidates = known.get(label);
    if (candidates === undefined) {
      if (!seen.has(line)) unverified.push(signature);
      seen.add(line);
      return;
    }
    if (candidates.length > 1) {
      throw new GatehouseError('AUDIT_NOTE_INVALID', `ambiguous key ${label}`, {
        reason: 'ambiguous-key',
        key: label,
      });
    }
    // A key signs once; repeats are dropped unread, as Go does.
    if (seen.has(label)) return;
    seen.add(label);
    if (!candidates[0]!.verify(signed, decodeBase64(signature.base64)!.subarray(4))) {
      throw new GatehouseError('AUDIT_NOTE_INVALID', `invalid signature for key ${label}`, {
        reason: 'bad-signature',
        key: label,
      });
    }
    signatures.push(signature);
  });
  if (signatures.length === 0) {
    throw new GatehouseError('AUDIT_NOTE_INVALID', 'note has no verifiable signatures', {
      reason: 'unverified',
      unverified,
    });
  }
  return { text, signatures, unverified };
}
