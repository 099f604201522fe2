/**
 * `grapevine bench size`: how many bytes a web page pays to be a Grapevine peer. esbuild bundles
 * the browser peer entry (`cli/dashboard/peer.ts`: WebSocket link, dialer, engine, Ed25519 through
 * WebCrypto with the noble fallback and checks, hashes, CBOR) minified for browsers, and the bundle
 * is gzipped at level 9 — the same method as the anchors in DESIGN.md §12.
 *
 * `entries` measures what a tab pays for what it imports, one bundle per entry under `cli/size/`:
 * presence only (a `grapevine/lite` node with no parts, dialer, room), presence with the broadcast
 * part (room messages, the topic API), presence with WebRTC direct links, presence with the main
 * entry's `createNode` (every part), every export of the main entry, and presence with
 * `grapevine/react` (React itself left out: it is the app's).
 *
 * @module
 */

import { gzipSync } from "node:zlib";
import { bundleForBrowser, bundleInitialLoad, entryPath, loadEsbuild } from "./bundle.ts";

/** One input's share of the minified bundle. */
export interface ModuleSize {
  path: string;
  bytes: number;
}

/** The report `grapevine bench size --json` prints. */
export interface SizeReport {
  bundle: "browser-peer";
  bytes_min: number;
  bytes_min_gzip: number;
  kib_min_gzip: number;
  /** Minified bytes per package (`grapevine` for this project's own files). */
  packages: Record<string, number>;
  /**
   * Gzipped bytes each dependency adds: the bundle's gzipped size minus that of the same bundle
   * with the package left out (external). Gzip is not additive, so these are marginal costs.
   */
  packages_gzip: Record<string, number>;
  /** The largest inputs, by minified bytes in the bundle. */
  modules: ModuleSize[];
  /** Other libraries' browser bundles, min+gzip KiB (DESIGN.md §14). */
  anchors: { trystero_kib: number; y_webrtc_yjs_kib: number; libp2p_gossipsub_kib: number; y_websocket_kib: number; liveblocks_kib: number };
  /** One bundle per kind of tab, by what it imports (see the module doc). */
  entries: Record<SizeEntry, EntrySize>;
  /** What the entries should come to, min+gzip KiB (issue 15). */
  targets: { presence_kib: number; everything_kib: number };
  esbuild: string;
}

/** The tabs `entries` measures, with their entry files under `cli/size/`. */
export const SIZE_ENTRIES = {
  presence: { stem: "size/presence", external: [] as string[] },
  "presence+broadcast": { stem: "size/broadcast", external: [] as string[] },
  "presence+webrtc": { stem: "size/webrtc", external: [] as string[] },
  "presence+all-parts": { stem: "size/all-parts", external: [] as string[] },
  everything: { stem: "size/everything", external: [] as string[] },
  "presence+react": { stem: "size/react", external: ["react", "react-dom"] },
} as const;

/** A name of {@link SIZE_ENTRIES}. */
export type SizeEntry = keyof typeof SIZE_ENTRIES;

/**
 * One entry's bundle, split as a bundler that honours `import()` ships it: what a page loads
 * before it runs (`bytes_min`, `bytes_min_gzip`, `kib_min_gzip`: every file of it, each gzipped)
 * and what it loads only where needed (`lazy_kib_min_gzip`: the pure-JavaScript Ed25519, which a
 * page fetches only where WebCrypto lacks Ed25519).
 */
export interface EntrySize {
  bytes_min: number;
  bytes_min_gzip: number;
  kib_min_gzip: number;
  lazy_kib_min_gzip: number;
}

const kib = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;
const gzipSize = (code: string) => gzipSync(new TextEncoder().encode(code), { level: 9 }).length;

/** Bundles and measures the browser peer. Throws if esbuild is missing. */
export async function benchSize(options: { top?: number } = {}): Promise<SizeReport> {
  const esbuild = await loadEsbuild();
  if ("missing" in esbuild) throw new Error(`bench size: ${esbuild.missing}`);
  const entry = entryPath("dashboard/peer");
  const { code, metafile } = await bundleForBrowser(esbuild, entry, { minify: true });
  const bytes = new TextEncoder().encode(code);
  const gzipped = gzipSync(bytes, { level: 9 }).length;
  const inputs = Object.values(metafile.outputs)[0].inputs;
  const modules = Object.entries(inputs)
    .map(([path, v]) => ({ path: tidy(path), bytes: v.bytesInOutput }))
    .filter((m) => m.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  const packages: Record<string, number> = {};
  for (const m of modules) packages[packageOf(m.path)] = (packages[packageOf(m.path)] ?? 0) + m.bytes;
  const packagesGzip: Record<string, number> = {};
  for (const name of Object.keys(packages)) {
    if (name === "grapevine") continue;
    const without = await bundleForBrowser(esbuild, entry, { minify: true, external: [name] });
    packagesGzip[name] = gzipped - gzipSync(new TextEncoder().encode(without.code), { level: 9 }).length;
  }
  const entries = {} as Record<SizeEntry, EntrySize>;
  for (const [name, e] of Object.entries(SIZE_ENTRIES) as [SizeEntry, (typeof SIZE_ENTRIES)[SizeEntry]][]) {
    const { initial, lazy } = await bundleInitialLoad(esbuild, entryPath(e.stem), { external: [...e.external] });
    const z = initial.files.reduce((sum, f) => sum + gzipSize(f), 0);
    const bytesMin = initial.files.reduce((sum, f) => sum + new TextEncoder().encode(f).length, 0);
    const lazyZ = lazy.files.reduce((sum, f) => sum + gzipSize(f), 0);
    entries[name] = { bytes_min: bytesMin, bytes_min_gzip: z, kib_min_gzip: kib(z), lazy_kib_min_gzip: kib(lazyZ) };
  }
  return {
    bundle: "browser-peer",
    bytes_min: bytes.length,
    bytes_min_gzip: gzipped,
    kib_min_gzip: Math.round((gzipped / 1024) * 10) / 10,
    packages: Object.fromEntries(Object.entries(packages).sort((a, b) => b[1] - a[1])),
    packages_gzip: packagesGzip,
    modules: modules.slice(0, options.top ?? 15),
    anchors: { trystero_kib: 23, y_webrtc_yjs_kib: 59, libp2p_gossipsub_kib: 205, y_websocket_kib: 27.6, liveblocks_kib: 56.8 },
    entries,
    targets: { presence_kib: 30, everything_kib: 45 },
    esbuild: esbuild.version,
  };
}

const PACKAGE_FILE = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^./][^/]*)\/(.*)$/;

/** `../../node_modules/cbor-x/decode.js` → `cbor-x/decode.js`; `…/dist/src/x.js` → `src/x.js`. */
function tidy(path: string): string {
  const m = PACKAGE_FILE.exec(path);
  if (m) return `${m[1]}/${m[2]}`;
  const own = /(?:^|\/)((?:src|cli)\/.*|mod\.[jt]s)$/.exec(path);
  return own ? own[1] : path;
}

function packageOf(path: string): string {
  const m = /^((?:@[^/]+\/)?[^/]+)\//.exec(path);
  return m && !/^(src|cli)$/.test(m[1]) ? m[1] : "grapevine";
}
