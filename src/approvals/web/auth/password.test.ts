import { describe, expect, it } from 'vitest';
import { DEFAULT_COST, decoyHash, hashPassword, parsePasswordHash, verifyPassword } from './password.js';

const cheap = { ln: 10, r: 8, p: 1 };

describe('scrypt password hashes', () => {
  it('writes the PHC format with the default cost, a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery staple');
    const b = await hashPassword('correct horse battery staple');
    expect(a).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(parsePasswordHash(a).cost).toEqual(DEFAULT_COST);
  });

  it('verifies the right password only, NFC-normalising both', async () => {
    const stored = parsePasswordHash(await hashPassword('caf\u00e9 au lait', cheap));
    expect(await verifyPassword('caf\u00e9 au lait', stored)).toBe(true);
    expect(await verifyPassword('cafe\u0301 au lait', stored)).toBe(true); // decomposed é
    expect(await verifyPassword('cafe au lait', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('reads a hash made elsewhere with the same parameters (golden value)', async () => {
    // python3 -c "import hashlib, base64; print(base64.b64encode(hashlib.scrypt(b's3cret', salt=bytes([1] * 16), n=1024, r=8, p=1, dklen=32)))"
    const golden = '$scrypt$ln=10,r=8,p=1$AQEBAQEBAQEBAQEBAQEBAQ$y17VPaMVHwrxKltY7Gbtukt19jMvUTPFhUjSwMSrSxQ';
    expect(await verifyPassword('s3cret', parsePasswordHash(golden))).toBe(true);
  });

  it('refuses malformed hashes and parameters outside the bounds, without echoing the hash', () => {
    expect(() => parsePasswordHash('plain-text-password')).toThrow(/not a password hash/);
    expect(() => parsePasswordHash('plain-text-password')).not.toThrow(/plain-text/);
    expect(() =>
      parsePasswordHash('$scrypt$ln=4,r=8,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AAAAAAAAAAAAAAAAAAAAAA'),
    ).toThrow(/ln=4/);
    expect(() =>
      parsePasswordHash('$scrypt$ln=20,r=32,p=1$AQEBAQEBAQEBAQEBAQEBAQ$AAAAAAAAAAAAAAAAAAAAAA'),
    ).toThrow(/1 GiB/);
    expect(() => parsePasswordHash('$scrypt$ln=10,r=8,p=1$AQ$AAAAAAAAAAAAAAAAAAAAAA')).toThrow(/salt/);
  });

  it('a decoy never matches', async () => {
    expect(await verifyPassword('anything', decoyHash(cheap))).toBe(false);
  });
});
