import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Approver passwords, hashed with scrypt (RFC 7914, in node:crypto: no native add-on to install) and
 * stored in the PHC string format that passlib and others read:
 *
 *   $scrypt$ln=17,r=8,p=1$<salt>$<hash>
 *
 * `ln` is log2 of N; salt (16 random bytes) and hash (32 bytes) are base64 without padding. The cost
 * written by `gatehouse approvers hash-password` is OWASP's recommendation for scrypt: N=2^17, r=8,
 * p=1, which takes 128 MiB and about a third of a second per check. Parameters live in the string, so a
 * stronger default later leaves old hashes valid. Passwords are NFC-normalised first, so the same
 * password typed on another keyboard layout or OS still matches.
 */

export interface ScryptCost {
  ln: number;
  r: number;
  p: number;
}

export const DEFAULT_COST: ScryptCost = { ln: 17, r: 8, p: 1 };

/** Bounds on what a config may ask for: below them a hash is too weak, above them one check may exhaust memory. */
const BOUNDS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
const MAX_MEMORY = 2 ** 30;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

export interface ParsedPasswordHash {
  cost: ScryptCost;
  salt: Buffer;
  hash: Buffer;
}

const FORMAT = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Throws an Error saying what is wrong (never echoing the string, which is a secret of sorts). */
export function parsePasswordHash(text: string): ParsedPasswordHash {
  const match = FORMAT.exec(text.trim());
  if (!match) {
    throw new Error(
      'not a password hash from `gatehouse approvers hash-password` ($scrypt$ln=..,r=..,p=..$salt$hash)',
    );
  }
  const cost = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  for (const key of ['ln', 'r', 'p'] as const) {
    const [min, max] = BOUNDS[key];
    if (cost[key] < min || cost[key] > max)
      throw new Error(`scrypt ${key}=${cost[key]} is outside ${min}..${max}`);
  }
  if (memory(cost) > MAX_MEMORY) throw new Error('the scrypt parameters need more than 1 GiB per check');
  const salt = Buffer.from(match[4]!, 'base64');
  const hash = Buffer.from(match[5]!, 'base64');
  if (salt.length < 8) throw new Error('the salt is shorter than 8 bytes');
  if (hash.length < 16 || hash.length > 64) throw new Error('the hash is not 16 to 64 bytes long');
  return { cost, salt, hash };
}

export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${unpadded(salt)}$${unpadded(hash)}`;
}

/** Constant-time in the hash comparison; the scrypt work is the same for a right and a wrong password. */
export async function verifyPassword(password: string, stored: ParsedPasswordHash): Promise<boolean> {
  const candidate = await derive(password, stored.salt, stored.hash.length, stored.cost);
  return timingSafeEqual(candidate, stored.hash);
}

/** A stand-in with the same cost as `like`, checked for unknown users so they take as long as known ones. */
export function decoyHash(like: ScryptCost = DEFAULT_COST): ParsedPasswordHash {
  return { cost: like, salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };
}

function derive(password: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      length,
      // Node refuses above 32 MiB unless told; parsePasswordHash keeps this under 1 GiB.
      { N: 2 ** cost.ln, r: cost.r, p: cost.p, maxmem: memory(cost) + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

/** What one scrypt check allocates: 128·N·r bytes, plus 128·r·p. */
function memory(cost: ScryptCost): number {
  return 128 * 2 ** cost.ln * cost.r + 128 * cost.r * cost.p;
}

function unpadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}
