import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors.js';
import {
  decodeBase64,
  generateNoteKey,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteVerifier,
} from './note.js';

/*
 * The vectors of golang.org/x/mod/sumdb/note (note_test.go: TestNewVerifier, TestNewSigner, TestSign,
 * TestOpen) and the example of the C2SP signed-note spec, reproduced exactly.
 */
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const PETER = {
  name: 'PeterNeumann',
  keyId: 0xc74f20a3,
  base64: 'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=',
};
const ENOCH = {
  name: 'EnochRoot',
  keyId: 0xaf0cfe78,
  base64: 'rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=',
};

/** The thrown GatehouseError (its code and reason), or undefined when `run` did not throw. */
function failure(run: () => unknown): { code: string; reason?: unknown; message: string } | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof GatehouseError)) throw error;
    return { code: error.code, reason: error.context.reason, message: error.message };
  }
}

/** Every proper substring and every one-character increment of `key`. */
function manglings(key: string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= key.length; i++) {
    for (let j = i + 1; j <= key.length; j++) if (i !== 0 || j !== key.length) out.push(key.slice(i, j));
  }
  for (let i = 0; i < key.length; i++) {
    out.push(key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1));
  }
  return out;
}

describe('note keys', () => {
  it('reads the PeterNeumann verifier key and refuses every mangling of it (TestNewVerifier)', () => {
    const verifier = parseVerifierKey(PETER_VKEY);
    expect(verifier).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3, key: PETER_VKEY });
    for (const bad of manglings(PETER_VKEY)) {
      expect(failure(() => parseVerifierKey(bad))?.code, bad).toBe('AUDIT_KEY_INVALID');
    }
    // Wrong length key, with adjusted key hash; unknown algorithm, with adjusted key hash.
    for (const bad of [
      'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==',
      'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
    ]) {
      expect(failure(() => parseVerifierKey(bad))?.code).toBe('AUDIT_KEY_INVALID');
    }
  });

  it('reads the PeterNeumann signer key and refuses every mangling of it (TestNewSigner)', () => {
    const signer = parseSignerKey(PETER_SKEY);
    expect(signer).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3, verifierKey: PETER_VKEY });
    for (const bad of manglings(PETER_SKEY)) {
      const error = failure(() => parseSignerKey(bad));
      expect(error?.code, bad).toBe('AUDIT_KEY_INVALID');
      // The private key never appears in an error message, whole or in part.
      expect(error?.message).not.toContain('AYEKFALV');
    }
  });

  it('generates key pairs that sign and verify, and reject a corrupt signature or message', () => {
    const { signerKey, verifierKey } = generateNoteKey('EnochRoot');
    const signer = parseSignerKey(signerKey);
    const verifier = parseVerifierKey(verifierKey);
    expect(signer.verifierKey).toBe(verifierKey);
    expect(signer.keyId).toBe(verifier.keyId);
    const message = Buffer.from('hi');
    const signature = signer.sign(message);
    expect(verifier.verify(message, signature)).toBe(true);
    signature[0]! ^= 1;
    expect(verifier.verify(message, signature)).toBe(false);
    signature[0]! ^= 1;
    expect(verifier.verify(Buffer.from('ho'), signature)).toBe(false);
    expect(verifier.verify(message, signature.subarray(1))).toBe(false);
  });

  it('decodes only canonical padded standard base64', () => {
    expect(decodeBase64('AQID')).toEqual(Buffer.from([1, 2, 3]));
    for (const bad of ['AQI', 'AQJ=', 'AQ-_', 'AQ I', 'A===', 'AQ==AQ=='])
      expect(decodeBase64(bad)).toBeUndefined();
  });
});

describe('signed notes', () => {
  it('signs exactly as Go does (TestSign)', () => {
    expect(signNote(TEXT, [parseSignerKey(PETER_SKEY)])).toBe(`${TEXT}\n${PETER_SIG}`);
    expect(failure(() => signNote('abc', [parseSignerKey(PETER_SKEY)]))?.reason).toBe('malformed');
    expect(failure(() => signNote('a\u0007b\n', [parseSignerKey(PETER_SKEY)]))?.reason).toBe('malformed');
  });

  it('verifies the C2SP spec example', () => {
    const note =
      'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    const opened = openNote(note, [
      parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'),
    ]);
    expect(opened.text).toBe('This is an example message.\n');
    expect(opened.signatures.map((s) => s.name)).toEqual(['example.com/foo']);
  });

  describe('opening (TestOpen)', () => {
    const peter = parseVerifierKey(PETER_VKEY);
    const enoch = parseVerifierKey(ENOCH_VKEY);
    const both = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;

    it('verifies known keys and sets unknown ones aside', () => {
      expect(openNote(both, [peter])).toEqual({ text: TEXT, signatures: [PETER], unverified: [ENOCH] });
      expect(openNote(both, [peter, enoch])).toEqual({
        text: TEXT,
        signatures: [PETER, ENOCH],
        unverified: [],
      });
    });

    it('refuses a note no known key signed, and says which keys did', () => {
      const error = (() => {
        try {
          openNote(both, []);
        } catch (e) {
          return e as GatehouseError;
        }
      })();
      expect(error?.message).toBe('note has no verifiable signatures');
      expect(error?.context).toMatchObject({ reason: 'unverified', unverified: [PETER, ENOCH] });
    });

    it('refuses an ambiguous key only when it signed', () => {
      expect(failure(() => openNote(`${TEXT}\n${ENOCH_SIG}`, [enoch, peter, enoch]))?.message).toBe(
        'ambiguous key EnochRoot+af0cfe78',
      );
      expect(openNote(`${TEXT}\n${PETER_SIG}`, [enoch, peter, enoch]).signatures).toEqual([PETER]);
    });

    it('refuses too many signatures', () => {
      const many = `${TEXT}\n${PETER_SIG.repeat(101)}`;
      expect(failure(() => openNote(many, [peter]))?.reason).toBe('malformed');
      expect(failure(() => openNote(many, []))?.reason).toBe('malformed');
    });

    it('refuses a bad signature by a known key', () => {
      const bad = `${TEXT}\n${PETER_SIG.slice(0, 58)}ABCD${PETER_SIG.slice(58)}`;
      expect(failure(() => openNote(bad, [peter]))).toMatchObject({
        message: 'invalid signature for key PeterNeumann+c74f20a3',
        reason: 'bad-signature',
      });
    });

    it('drops repeated signatures', () => {
      const enochABCD = { ...ENOCH, base64: `${ENOCH.base64.slice(0, 46)}ABCD${ENOCH.base64.slice(46)}` };
      const note = `${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${ENOCH_SIG.slice(0, 58)}ABCD${ENOCH_SIG.slice(58)}`;
      expect(openNote(note, [peter])).toEqual({
        text: TEXT,
        signatures: [PETER],
        unverified: [ENOCH, enochABCD],
      });
    });

    it('refuses malformed messages', () => {
      const bad = [
        TEXT,
        `${TEXT}\n`,
        `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
        `\u0001${TEXT}\n${PETER_SIG}`,
        `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
        `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      ];
      for (const message of bad)
        expect(failure(() => openNote(message, [peter]))?.reason, message).toBe('malformed');
      // A lone surrogate has no UTF-8 form; "\xff" + text: bytes that are not UTF-8.
      expect(failure(() => openNote(`\ud800${TEXT}\n${PETER_SIG}`, [peter]))?.reason).toBe('malformed');
      const notUtf8 = Buffer.concat([Buffer.from([0xff]), Buffer.from(`${TEXT}\n${PETER_SIG}`)]);
      expect(failure(() => openNote(notUtf8, [peter]))?.reason).toBe('malformed');
    });

    it('checks a signature against the key it names, by name and id', () => {
      const misnamed = PETER_SIG.replaceAll('PeterNeumann', 'CarmenSandiego');
      expect(failure(() => openNote(`${TEXT}\n${misnamed}`, [peter]))?.reason).toBe('unverified');
      const wrongId = PETER_SIG.replaceAll('x08g', 'xxxx');
      expect(failure(() => openNote(`${TEXT}\n${wrongId}`, [peter]))?.reason).toBe('unverified');
    });

    it('verifies with a verifier built from a generated key only what that key signed', () => {
      const { signerKey, verifierKey } = generateNoteKey('PeterNeumann');
      const other: NoteVerifier = parseVerifierKey(verifierKey);
      const note = signNote(TEXT, [parseSignerKey(signerKey)]);
      expect(openNote(note, [other]).signatures).toHaveLength(1);
      // Same name, other key: the signature is ignored, so the note is unverified.
      expect(failure(() => openNote(note, [peter]))?.reason).toBe('unverified');
    });
  });
});
