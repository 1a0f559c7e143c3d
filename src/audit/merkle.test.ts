import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, merkleTree, nodeHash, verifyConsistency, verifyInclusion } from './merkle.js';

/*
 * Golden vectors published with the reference implementations: the 8-leaf tree of RFC 6962's test
 * data as carried by github.com/transparency-dev/merkle (testonly/constants.go, and the proofs of
 * proof/verify_test.go before they moved to testdata/), plus every inclusion and consistency probe of
 * its testdata/ directory (testdata/rfc6962-probes.json).
 */
const hex = (text: string) => Buffer.from(text, 'hex');
const b64 = (text: string) => Buffer.from(text, 'base64');

const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(hex);

/** Roots by tree size 0..8. */
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** Leaf hashes (level 0). */
const LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
];

/** [leaf number (1-based, as in the Go vectors), tree size, proof]. */
const INCLUSION: [number, number, string[]][] = [
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [3, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    2,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

/** [size1, size2, proof]. */
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
  [
    6,
    7,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
];

const tree8 = () => merkleTree(LEAVES.map((leaf) => leafHash(leaf)));

describe('RFC 6962 hashing', () => {
  it('matches the reference hasher vectors', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe(ROOTS[0]);
    expect(leafHash(Buffer.alloc(0)).toString('hex')).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(leafHash('L123456').toString('hex')).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    expect(nodeHash(Buffer.from('N123'), Buffer.from('N456')).toString('hex')).toBe(
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });

  it('hashes the eight reference leaves and their tree heads at every size', () => {
    expect(LEAVES.map((leaf) => leafHash(leaf).toString('hex'))).toEqual(LEAF_HASHES);
    const tree = merkleTree();
    expect(tree.root().toString('hex')).toBe(ROOTS[0]);
    LEAVES.forEach((leaf, i) => {
      tree.append(leafHash(leaf));
      // The incremental root of the current size and the root of a past size agree with the vectors.
      expect(tree.root().toString('hex')).toBe(ROOTS[i + 1]);
    });
    for (let size = 0; size <= 8; size++) expect(tree.root(size).toString('hex')).toBe(ROOTS[size]);
  });

  it('produces and verifies the reference inclusion proofs', () => {
    const tree = tree8();
    for (const [leaf, size, proof] of INCLUSION) {
      const index = leaf - 1;
      expect(tree.inclusionProof(index, size).map((h) => h.toString('hex'))).toEqual(proof);
      expect(verifyInclusion(index, size, tree.leafHash(index), proof.map(hex), hex(ROOTS[size]!))).toBe(
        true,
      );
    }
    expect(tree.inclusionProof(0, 1)).toEqual([]);
  });

  it('produces and verifies the reference consistency proofs', () => {
    const tree = tree8();
    for (const [size1, size2, proof] of CONSISTENCY) {
      expect(tree.consistencyProof(size1, size2).map((h) => h.toString('hex'))).toEqual(proof);
      expect(verifyConsistency(size1, size2, hex(ROOTS[size1]!), hex(ROOTS[size2]!), proof.map(hex))).toBe(
        true,
      );
    }
  });

  it('refuses proofs for positions outside the tree', () => {
    const tree = tree8();
    expect(() => tree.inclusionProof(8, 8)).toThrow(RangeError);
    expect(() => tree.inclusionProof(0, 9)).toThrow(RangeError);
    expect(() => tree.consistencyProof(0, 4)).toThrow(RangeError);
    expect(() => tree.consistencyProof(5, 4)).toThrow(RangeError);
    expect(() => tree.root(9)).toThrow(RangeError);
    expect(() => tree.append(Buffer.alloc(31))).toThrow(RangeError);
  });
});

interface Probes {
  inclusion: {
    file: string;
    leafIdx: number | string;
    treeSize: number;
    root: string;
    leafHash: string;
    proof: string[];
    wantErr: boolean;
  }[];
  consistency: {
    file: string;
    size1: number;
    size2: number;
    root1: string;
    root2: string;
    proof: string[];
    wantErr: boolean;
  }[];
}

const probes = JSON.parse(
  readFileSync(new URL('./testdata/rfc6962-probes.json', import.meta.url), 'utf8'),
) as Probes;

describe('the reference implementation probes', () => {
  it.each(probes.inclusion)('inclusion $file', (p) => {
    const ok = verifyInclusion(Number(p.leafIdx), p.treeSize, b64(p.leafHash), p.proof.map(b64), b64(p.root));
    expect(ok).toBe(!p.wantErr);
  });

  it.each(probes.consistency)('consistency $file', (p) => {
    const ok = verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), p.proof.map(b64));
    expect(ok).toBe(!p.wantErr);
  });

  it('has both verdicts in each set', () => {
    expect(probes.inclusion.filter((p) => !p.wantErr).length).toBeGreaterThan(4);
    expect(probes.consistency.filter((p) => !p.wantErr).length).toBeGreaterThan(4);
    expect(probes.inclusion.filter((p) => p.wantErr).length).toBeGreaterThan(50);
  });
});
