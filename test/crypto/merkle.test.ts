import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fromHex, toHex } from "../../src/bytes.ts";
import { leafHash, MERKLE_PROOF_LENGTH_MAX, MerkleTree, nodeHash, verifyInclusion } from "../../src/crypto/merkle.ts";
import merkleVectors from "../vectors/merkle.json" with { type: "json" };

// An independent RFC 6962 implementation, straight from the recursive definitions in §2.1, on
// node:crypto (OpenSSL) rather than @noble/hashes.
const h = (...parts: Uint8Array[]): Uint8Array => {
  const hash = createHash("sha256");
  for (const p of parts) hash.update(p);
  return new Uint8Array(hash.digest());
};
const refLeaf = (d: Uint8Array) => h(Uint8Array.of(0), d);
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function refRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return h();
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return h(Uint8Array.of(1), refRoot(leaves.slice(0, k)), refRoot(leaves.slice(k)));
}
function refPath(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...refPath(m, leaves.slice(0, k)), refRoot(leaves.slice(k))]
    : [...refPath(m - k, leaves.slice(k)), refRoot(leaves.slice(0, k))];
}
const leafData = (i: number) => new TextEncoder().encode(`leaf ${i}`);

describe("merkle", () => {
  it("leafHash and nodeHash match node:crypto", () => {
    const a = leafData(1);
    expect(toHex(leafHash(a))).toBe(toHex(refLeaf(a)));
    const l = refLeaf(a);
    const r = refLeaf(leafData(2));
    expect(toHex(nodeHash(l, r))).toBe(toHex(h(Uint8Array.of(1), l, r)));
  });

  it("agrees with the independent implementation on roots and every audit path, sizes 0..70", () => {
    for (let n = 0; n <= 70; n++) {
      const leaves = Array.from({ length: n }, (_, i) => refLeaf(leafData(i)));
      const tree = MerkleTree.fromLeafHashes(leaves);
      const root = refRoot(leaves);
      expect(tree.size).toBe(n);
      expect(toHex(tree.root), `root of ${n}`).toBe(toHex(root));
      for (let i = 0; i < n; i++) {
        const proof = tree.proof(i);
        expect(proof.map(toHex), `path ${i} of ${n}`).toEqual(refPath(i, leaves).map(toHex));
        expect(verifyInclusion(leaves[i], i, n, proof, root)).toBe(true);
        // The same proof must fail for another position, leaf or a tampered path. (Not for every
        // other size: a path fixes only the tree's shape near the leaf, so the signed tree head
        // must carry the size.)
        if (n > 1) expect(verifyInclusion(leaves[i], (i + 1) % n, n, proof, root)).toBe(false);
        expect(verifyInclusion(refLeaf(leafData(-1)), i, n, proof, root)).toBe(false);
        if (proof.length > 0) {
          const bad = proof.map((p) => p.slice());
          bad[bad.length - 1][0] ^= 1;
          expect(verifyInclusion(leaves[i], i, n, bad, root)).toBe(false);
          expect(verifyInclusion(leaves[i], i, n, proof.slice(1), root)).toBe(false);
        }
        expect(verifyInclusion(leaves[i], i, n, [...proof, leaves[0]], root)).toBe(false);
      }
    }
  });

  it("matches the frozen roots in test/vectors/merkle.json", () => {
    const inputs = merkleVectors.leaves.map(fromHex);
    expect(toHex(MerkleTree.fromLeafHashes([]).root)).toBe(merkleVectors.emptyRoot);
    for (const { size, root } of merkleVectors.roots) {
      expect(toHex(MerkleTree.fromLeafHashes(inputs.slice(0, size).map(leafHash)).root), `size ${size}`).toBe(root);
    }
  });

  it("verifyInclusion returns false, never throws, on hostile arguments", () => {
    const leaves = Array.from({ length: 5 }, (_, i) => leafHash(leafData(i)));
    const tree = MerkleTree.fromLeafHashes(leaves);
    const proof = tree.proof(3);
    const bad: [unknown, unknown, unknown, unknown, unknown][] = [
      [leaves[3], -1, 5, proof, tree.root],
      [leaves[3], 5, 5, proof, tree.root],
      [leaves[3], 3, 0, proof, tree.root],
      [leaves[3], 3.5, 5, proof, tree.root],
      [leaves[3], Number.NaN, 5, proof, tree.root],
      [leaves[3], 3, Number.POSITIVE_INFINITY, proof, tree.root],
      [leaves[3], 3, 2 ** 60, proof, tree.root],
      [leaves[3], 3, 5, null, tree.root],
      [leaves[3], 3, 5, [new Uint8Array(31), ...proof.slice(1)], tree.root],
      [leaves[3], 3, 5, ["x", ...proof.slice(1)], tree.root],
      [leaves[3].subarray(1), 3, 5, proof, tree.root],
      [leaves[3], 3, 5, proof, tree.root.subarray(1)],
      [leaves[3], 3, 5, Array.from({ length: MERKLE_PROOF_LENGTH_MAX + 1 }, () => leaves[0]), tree.root],
      [undefined, 3, 5, proof, tree.root],
    ];
    for (const args of bad) {
      expect(verifyInclusion(...(args as Parameters<typeof verifyInclusion>))).toBe(false);
    }
  });

  it("accepts a 64-element proof shape without throwing (2^64-leaf sizes are not safe integers)", () => {
    const proof = Array.from({ length: MERKLE_PROOF_LENGTH_MAX }, () => new Uint8Array(32));
    expect(verifyInclusion(new Uint8Array(32), 0, Number.MAX_SAFE_INTEGER, proof, new Uint8Array(32))).toBe(false);
  });

  it("rejects malformed leaves and out-of-range proof indexes", () => {
    expect(() => MerkleTree.fromLeafHashes([new Uint8Array(31)])).toThrow(TypeError);
    const tree = MerkleTree.fromLeafHashes([leafHash(leafData(0))]);
    expect(tree.proof(0)).toEqual([]);
    expect(() => tree.proof(1)).toThrow(RangeError);
    expect(() => tree.proof(-1)).toThrow(RangeError);
    expect(() => MerkleTree.fromLeafHashes([]).proof(0)).toThrow(RangeError);
  });

  it("copies its input so later writes do not change the tree", () => {
    const leaves = [leafHash(leafData(0)), leafHash(leafData(1))];
    const tree = MerkleTree.fromLeafHashes(leaves);
    const root = toHex(tree.root);
    leaves[1].fill(0);
    expect(toHex(tree.root)).toBe(root);
    expect(toHex(tree.proof(0)[0])).toBe(toHex(leafHash(leafData(1))));
  });
});
