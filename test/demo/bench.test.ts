/** `grapevine bench size`: the browser peer's bundle, measured the way DESIGN.md §12's anchors were. */
import { describe, expect, it } from "vitest";
import { bundleForBrowser, bundleInitialLoad, entryPath, loadEsbuild } from "../../cli/bundle.ts";
import { runCli } from "../helpers/cli.ts";

describe("grapevine bench size", () => {
  it("prints one JSON line: minified and gzipped bytes, the largest modules, the anchors", async () => {
    const { code, out } = await runCli(["bench", "size", "--json"]);
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const r = JSON.parse(out[0]);
    expect(r).toMatchObject({ bundle: "browser-peer", anchors: { trystero_kib: 23, y_webrtc_yjs_kib: 59, libp2p_gossipsub_kib: 205 } });
    expect(r.bytes_min_gzip).toBeGreaterThan(1_000);
    expect(r.bytes_min_gzip).toBeLessThan(r.bytes_min);
    expect(r.kib_min_gzip).toBeCloseTo(r.bytes_min_gzip / 1024, 1);
    // What a browser peer needs is in it: the engine, the driver, the link, the dialer, the crypto.
    const paths = r.modules.map((m: { path: string }) => m.path).join(" ");
    for (const part of ["src/core/engine", "src/runtime/node", "@noble/ed25519/"]) expect(paths).toContain(part);
    expect(Object.keys(r.packages)).toEqual(expect.arrayContaining(["grapevine", "@noble/hashes", "@noble/ed25519"]));
    expect(Object.keys(r.packages)).not.toContain("cbor-x"); // the wire codec is the package's own
    // One bundle per kind of tab; each grows with what it imports.
    const e = r.entries as Record<string, { bytes_min: number; bytes_min_gzip: number; kib_min_gzip: number; lazy_kib_min_gzip: number }>;
    expect(Object.keys(e)).toEqual(["presence", "presence+broadcast", "presence+webrtc", "presence+all-parts", "everything", "presence+react"]);
    for (const [name, v] of Object.entries(e)) {
      expect(v.bytes_min_gzip).toBeGreaterThan(1_000);
      expect(v.bytes_min_gzip).toBeLessThan(v.bytes_min);
      expect(v.kib_min_gzip).toBeCloseTo(v.bytes_min_gzip / 1024, 1);
      // The pure-JavaScript Ed25519 is a chunk of its own, loaded on demand (every export includes
      // the synchronous key functions, which need it at once).
      if (name !== "everything") expect(v.lazy_kib_min_gzip, name).toBeGreaterThan(3);
    }
    expect(e["presence+webrtc"].bytes_min).toBeGreaterThan(e.presence.bytes_min);
    expect(e["presence+react"].bytes_min).toBeGreaterThan(e.presence.bytes_min);
    expect(e.everything.bytes_min).toBeGreaterThanOrEqual(e["presence+webrtc"].bytes_min);
    // A part costs only the tabs that take it: broadcast adds to presence, membership to that.
    expect(e["presence+broadcast"].bytes_min).toBeGreaterThan(e.presence.bytes_min);
    expect(e["presence+all-parts"].bytes_min).toBeGreaterThan(e["presence+broadcast"].bytes_min);
    expect(r.targets).toEqual({ presence_kib: 30, everything_kib: 45 });
    const sizes = r.modules.map((m: { bytes: number }) => m.bytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
  }, 120_000);

  it("leaves out of a tab's bundle the parts it does not take", async () => {
    const esbuild = await loadEsbuild();
    if ("missing" in esbuild) throw new Error(esbuild.missing);
    const inputs = async (stem: string) => {
      const { metafile } = await bundleForBrowser(esbuild, entryPath(stem), { minify: true });
      return Object.entries(Object.values(metafile.outputs)[0].inputs).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k.split("\\").join("/"));
    };
    const membership = (files: string[]) => files.filter((f) => /src\/core\/membership\/|src\/wire\/member-frames/.test(f));
    const broadcast = (files: string[]) => files.filter((f) => /src\/core\/(broadcast|repair)\.ts/.test(f));
    const trie = (files: string[]) => files.filter((f) => f.endsWith("src/core/digest-tree.ts"));
    const presence = await inputs("size/presence");
    expect(membership(presence)).toEqual([]);
    expect(broadcast(presence)).toEqual([]);
    expect(trie(presence)).toEqual([]);
    expect(presence.some((f) => f.endsWith("src/core/sync.ts"))).toBe(true);
    const withBroadcast = await inputs("size/broadcast");
    expect(membership(withBroadcast)).toEqual([]);
    expect(broadcast(withBroadcast).length).toBeGreaterThan(0);
    const all = await inputs("size/all-parts");
    expect(membership(all).length).toBeGreaterThan(0);
    expect(broadcast(all).length).toBeGreaterThan(0);
    expect(trie(all).length).toBeGreaterThan(0);
  }, 120_000);

  it("loads the pure-JavaScript Ed25519 and SHA-512 only on demand: a page whose WebCrypto has Ed25519 never fetches them", async () => {
    const esbuild = await loadEsbuild();
    if ("missing" in esbuild) throw new Error(esbuild.missing);
    for (const stem of ["size/presence", "size/broadcast", "size/webrtc", "size/all-parts", "size/react"]) {
      const { initial, lazy } = await bundleInitialLoad(esbuild, entryPath(stem), { external: ["react", "react-dom"] });
      expect(initial.inputs.filter((f) => /@noble\/|src\/crypto\/(noble|sha512)\./.test(f)), stem).toEqual([]);
      expect(initial.inputs.some((f) => /src\/crypto\/edwards\./.test(f)), stem).toBe(true); // the key rule is always there
      expect(lazy.inputs.some((f) => f.includes("@noble/ed25519/")), stem).toBe(true);
      expect(lazy.inputs.some((f) => f.includes("@noble/hashes/")), stem).toBe(true);
    }
  }, 120_000);

  it("refuses unknown benchmarks and lists the known ones", async () => {
    const { code, err } = await runCli(["bench", "speed"]);
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/unknown benchmark speed; one of: size, relay, broadcast, mesh/);
    const help = await runCli(["bench", "--help"]);
    expect(help.code).toBe(0);
    for (const b of ["size", "relay", "broadcast", "mesh"]) expect(help.out.join("\n")).toMatch(new RegExp(`^  ${b} `, "m"));
  });
});
