import { createHash, hash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256, as transparency logs use it:
 * leaf = SHA-256(0x00 || bytes), node = SHA-256(0x01 || left || right), and the tree head of n leaves
 * splits at the largest power of two smaller than n. The prefixes keep a leaf from passing for a node.
 *
 * `merkleTree` keeps every complete subtree hash in flat buffers (two hashes a leaf), so appending is
 * O(1) amortised, and a root, an inclusion proof or a consistency proof at any past size costs
 * O(log² n) hashing at worst. The verifiers are pure functions of their arguments.
 */

export const HASH_SIZE = 32;

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

// One-shot `crypto.hash` over a joined buffer: half the cost of a createHash object per hash.
const LEAF_PREFIX = Buffer.from([0]);
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE, 1);
const HEX_HASH = /^[0-9a-f]{64}$/;

export function leafHash(data: Uint8Array | string): Buffer {
  // A string is hashed as its UTF-8 bytes, and U+0000 is the one byte 0x00: no Buffer is made for it.
  if (typeof data === 'string') return hash('sha256', `\u0000${data}`, 'buffer');
  return hash('sha256', Buffer.concat([LEAF_PREFIX, data]), 'buffer');
}

/**
 * `leafHash` of a line, in hex. The audit log's hot path hashes lines as strings and keeps hashes as
 * hex (what its lines and receipts carry): a digest in a Buffer of its own costs twice as much.
 */
export function leafHashHex(line: string): string {
  return hash('sha256', `\u0000${line}`, 'hex');
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  // Nodes are 32-byte hashes in the tree; anything else (the RFC's test vectors) goes the long way.
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return createHash('sha256').update(nodeInput.subarray(0, 1)).update(left).update(right).digest();
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeInput, 'buffer');
}

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n;
const half = (n: number): number => Math.floor(n / 2);
const odd = (n: number): boolean => n % 2 === 1;

/** Hashes in one growing buffer: a million leaves would otherwise be two million small Buffers. */
interface HashList {
  readonly length: number;
  get(index: number): Buffer;
  /** A hash as bytes, or as hex (written straight into the list). */
  push(hash: Uint8Array | string): void;
}

function hashList(): HashList {
  let data = Buffer.allocUnsafe(HASH_SIZE * 64);
  let length = 0;
  return {
    get length() {
      return length;
    },
    // A view, not a copy: a slot is written once and never changed (a grown buffer keeps old views valid).
    get: (index) => data.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE),
    push: (hash) => {
      if ((length + 1) * HASH_SIZE > data.length) {
        const grown = Buffer.allocUnsafe(data.length * 2);
        data.copy(grown, 0, 0, length * HASH_SIZE);
        data = grown;
      }
      if (typeof hash === 'string') data.write(hash, length * HASH_SIZE, HASH_SIZE, 'hex');
      else data.set(hash, length * HASH_SIZE);
      length += 1;
    },
  };
}

export interface MerkleTree {
  /** Number of leaves. */
  readonly size: number;
  /** Adds the hash of the next leaf (a `leafHash`, not the leaf's bytes; or `leafHashHex`). */
  append(leafHash: Uint8Array | string): void;
  leafHash(index: number): Buffer;
  /** MTH(D[0:size]); the current size when omitted. */
  root(size?: number): Buffer;
  /** PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1. */
  inclusionProof(index: number, size?: number): Buffer[];
  /** PROOF(size1, D[0:size2]) of RFC 9162 section 2.1.4.1; empty when size1 = size2. */
  consistencyProof(size1: number, size2?: number): Buffer[];
}

/** A tree holding the given leaf hashes (for a rebuild from stored leaves), or an empty one. */
export function merkleTree(leafHashes: Iterable<Uint8Array> = []): MerkleTree {
  // levels[h][i] is the hash of the complete subtree of 2^h leaves starting at leaf i * 2^h.
  const levels: HashList[] = [hashList()];
  let size = 0;

  const append = (leaf: Uint8Array | string): void => {
    const bytes = typeof leaf === 'string' ? (HEX_HASH.test(leaf) ? HASH_SIZE : 0) : leaf.length;
    if (bytes !== HASH_SIZE) throw new RangeError(`a leaf hash has ${HASH_SIZE} bytes`);
    levels[0]!.push(leaf);
    // Every right child completes a subtree one level up: hashed in place, written into the level as hex.
    for (let index = size, height = 0; odd(index); index = half(index), height++) {
      const level = levels[height]!;
      nodeInput.set(level.get(index - 1), 1);
      nodeInput.set(level.get(index), 1 + HASH_SIZE);
      (levels[height + 1] ??= hashList()).push(hash('sha256', nodeInput, 'hex'));
    }
    size += 1;
  };

  /** MTH(D[begin:end]), from stored complete subtrees where the range is one. */
  const rangeHash = (begin: number, end: number): Buffer => {
    const n = end - begin;
    if (n === 0) return EMPTY_ROOT;
    if (isPowerOfTwo(n) && begin % n === 0) return levels[Math.round(Math.log2(n))]!.get(begin / n);
    const k = splitPoint(n);
    return nodeHash(rangeHash(begin, begin + k), rangeHash(begin + k, end));
  };

  const path = (index: number, begin: number, end: number): Buffer[] => {
    const n = end - begin;
    if (n === 1) return [];
    const k = splitPoint(n);
    return index < k
      ? [...path(index, begin, begin + k), rangeHash(begin + k, end)]
      : [...path(index - k, begin + k, end), rangeHash(begin, begin + k)];
  };

  const subproof = (m: number, begin: number, end: number, complete: boolean): Buffer[] => {
    const n = end - begin;
    if (m === n) return complete ? [] : [rangeHash(begin, end)];
    const k = splitPoint(n);
    return m <= k
      ? [...subproof(m, begin, begin + k, complete), rangeHash(begin + k, end)]
      : [...subproof(m - k, begin + k, end, false), rangeHash(begin, begin + k)];
  };

  const checkSize = (n: number): number => {
    if (!Number.isSafeInteger(n) || n < 0 || n > size) {
      throw new RangeError(`tree size ${n} is outside 0..${size}`);
    }
    return n;
  };

  for (const hash of leafHashes) append(hash);
  return {
    get size() {
      return size;
    },
    append,
    leafHash: (index) => {
      if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
        throw new RangeError(`leaf ${index} is outside 0..${size - 1}`);
      }
      return levels[0]!.get(index);
    },
    root: (n = size) => rangeHash(0, checkSize(n)),
    inclusionProof: (index, n = size) => {
      checkSize(n);
      if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
        throw new RangeError(`leaf ${index} is not in a tree of ${n}`);
      }
      return path(index, 0, n);
    },
    consistencyProof: (size1, size2 = size) => {
      checkSize(size2);
      if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) {
        throw new RangeError(`no consistency proof from size ${size1} to size ${size2}`);
      }
      return size1 === size2 ? [] : subproof(size1, 0, size2, true);
    },
  };
}

/** RFC 9162's inner loops: right-shift fn and sn together while `more(fn)`. */
function shiftWhile(fn: number, sn: number, more: (fn: number) => boolean): [number, number] {
  while (more(fn)) [fn, sn] = [half(fn), half(sn)];
  return [fn, sn];
}
const untilOddOrZero = (fn: number): boolean => !odd(fn) && fn !== 0;

const isHash = (value: Uint8Array): boolean => value.length === HASH_SIZE;
const allHashes = (values: readonly Uint8Array[]): boolean => values.every(isHash);
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** RFC 9162 section 2.1.3.2. False for any malformed input (sizes, hash lengths), never a throw. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return false;
  }
  if (!isHash(leaf) || !isHash(root) || !allHashes(proof)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      [fn, sn] = shiftWhile(fn, sn, untilOddOrZero);
    } else {
      r = nodeHash(r, p);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && sameBytes(r, root);
}

/**
 * RFC 9162 section 2.1.4.2. As in the reference implementation, a proof from the empty tree is
 * refused (it proves nothing), and equal sizes need an empty proof and equal roots.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size2 < size1) {
    return false;
  }
  if (size1 === size2) return proof.length === 0 && sameBytes(root1, root2);
  if (!isHash(root1) || !isHash(root2) || !allHashes(proof)) return false;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let [fn, sn] = shiftWhile(size1 - 1, size2 - 1, odd);
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      [fn, sn] = shiftWhile(fn, sn, untilOddOrZero);
    } else {
      sr = nodeHash(sr, c);
    }
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 && sameBytes(fr, root1) && sameBytes(sr, root2);
}
