import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, merkleTree, nodeHash, verifyConsistency, verifyInclusion } from './merkle.js';

/** MTH exactly as RFC 9162 section 2.1.1 defines it, with no stored subtrees: the oracle. */
function referenceRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

const leafHashes = (count: number) => Array.from({ length: count }, (_, i) => leafHash(`leaf ${i}`));

/** A copy of the hash with one bit flipped. */
function flip(hash: Uint8Array, bit: number): Buffer {
  const copy = Buffer.from(hash);
  copy[Math.floor(bit / 8) % copy.length]! ^= 1 << (bit % 8);
  return copy;
}

const sizes = fc.integer({ min: 1, max: 300 });
const bit = fc.integer({ min: 0, max: 255 });

describe('Merkle tree properties', () => {
  it('the stored tree gives the RFC root at every past size', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), (size, pick) => {
        const leaves = leafHashes(size);
        const tree = merkleTree(leaves);
        const past = pick % (size + 1);
        expect(tree.root(past).equals(referenceRoot(leaves.slice(0, past)))).toBe(true);
      }),
    );
  });

  it('every inclusion proof verifies, and tampering with any hash in it fails', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(), bit, (size, a, b, flipped) => {
        const tree = merkleTree(leafHashes(size));
        const treeSize = 1 + (a % size);
        const index = b % treeSize;
        const proof = tree.inclusionProof(index, treeSize);
        const leaf = tree.leafHash(index);
        const root = tree.root(treeSize);
        expect(verifyInclusion(index, treeSize, leaf, proof, root)).toBe(true);
        expect(verifyInclusion(index, treeSize, flip(leaf, flipped), proof, root)).toBe(false);
        expect(verifyInclusion(index, treeSize, leaf, proof, flip(root, flipped))).toBe(false);
        proof.forEach((_, i) => {
          const bad = proof.map((h, j) => (j === i ? flip(h, flipped) : h));
          expect(verifyInclusion(index, treeSize, leaf, bad, root)).toBe(false);
        });
        if (treeSize > 1) {
          expect(verifyInclusion((index + 1) % treeSize, treeSize, leaf, proof, root)).toBe(false);
          expect(verifyInclusion(index, treeSize, leaf, proof.slice(1), root)).toBe(false);
        }
        expect(verifyInclusion(index, treeSize, leaf, [...proof, root], root)).toBe(false);
      }),
    );
  });

  it('every consistency proof between sizes m <= n verifies, and tampering with any hash fails', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(), bit, (size, a, b, flipped) => {
        const tree = merkleTree(leafHashes(size));
        const size2 = 1 + (a % size);
        const size1 = 1 + (b % size2);
        const proof = tree.consistencyProof(size1, size2);
        const root1 = tree.root(size1);
        const root2 = tree.root(size2);
        expect(verifyConsistency(size1, size2, root1, root2, proof)).toBe(true);
        expect(verifyConsistency(size1, size2, flip(root1, flipped), root2, proof)).toBe(false);
        expect(verifyConsistency(size1, size2, root1, flip(root2, flipped), proof)).toBe(false);
        proof.forEach((_, i) => {
          const bad = proof.map((h, j) => (j === i ? flip(h, flipped) : h));
          expect(verifyConsistency(size1, size2, root1, root2, bad)).toBe(false);
        });
        if (size1 < size2) expect(verifyConsistency(size1, size2, root1, root2, proof.slice(1))).toBe(false);
      }),
    );
  });

  it('appending after a rebuild continues the same tree', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), (size, cut) => {
        const leaves = leafHashes(size);
        const split = cut % (size + 1);
        const rebuilt = merkleTree(leaves.slice(0, split));
        for (const leaf of leaves.slice(split)) rebuilt.append(leaf);
        expect(rebuilt.root().equals(merkleTree(leaves).root())).toBe(true);
      }),
    );
  });
});
