/**
 * The fuzz corpus: valid frames of every type, captured from a seeded run of real code rather than
 * built by hand, so it follows the protocol as it changes.
 *
 * - Gossip and membership frames come from a {@link CaptureWorld} of seven engines scripted to do
 *   what makes every frame appear: writes and deletes (digests with rows and summaries, trie
 *   descents, full and partial deltas, rumors from a push-mode node), broadcasts with a lossy
 *   window (IHAVE, GRAFT, PRUNE; a 60 KB message the victim then holds), publishers at once on
 *   all sides (crossing messages prune links; a leaf pruned by both neighbours asks back: an empty GRAFT), a crashed node
 *   (PING_REQ, NACK, suspect and dead claims), a stalled node (an alive claim stating its lag), a
 *   node leaving (left claims), a node over its active view (SHUFFLE with DISCONNECT) and one
 *   whose member table is full (shuffles of whole claims; the others' go by id).
 * - HELLO, PROOF and CLOSE come from the real handshake (`runHandshake`) with seeded nonces, so
 *   the captured PROOFs verify again in the fuzzer's own handshakes.
 * - FORWARD and a CLOSE from an open link come from two real nodes (`createNode`) on memory links.
 *
 * Node 0 is the fuzzer's victim: it is marked mid-conversation (links up, a probe and a push in
 * flight, messages cached) and rebuilt from that mark as often as the fuzzer needs.
 *
 * @module
 */

import { toHex } from "../../src/bytes.ts";
import { PROTOCOL_VERSION } from "../../src/core/engine.ts";
import type { EngineOptions } from "../../src/core/options.ts";
import { deriveSeed, seededRng } from "../../src/core/random.ts";
import { signingBytes } from "../../src/crypto/context.ts";
import { keyPairFromSeed } from "../../src/crypto/keys.ts";
import { sha256 } from "../../src/crypto/hash.ts";
import { nodeIdToText } from "../../src/crypto/identity.ts";
import type { KeyPair, SignatureSuite } from "../../src/crypto/types.ts";
import { credentialToWire, issueCredential } from "../../src/runtime/credential.ts";
import { type HandshakeConfig, runHandshake } from "../../src/runtime/handshake.ts";
import { createNode } from "../../src/runtime/create.ts";
import { createMemoryLinkPair } from "../../src/transport/memory.ts";
import type { Link } from "../../src/transport/link.ts";
import type { CredentialWire } from "../../src/wire/link-frames.ts";
import { DELTA_FLAG, encodeFrame, FRAME } from "../../src/wire/frames.ts";
import { encodeRootBody } from "../../src/wire/records.ts";
import { scopeIdOf } from "../../src/core/scopes.ts";
import { decodeAny, type FrameType, missingFromCorpus, typeOf, variantsOf } from "./registry.ts";
import { CaptureWorld, type Mark } from "./world.ts";

/** One captured frame. */
export interface CorpusFrame {
  type: FrameType;
  variants: string[];
  /** Sender and receiver: world node indices (the handshake and node captures use 0 and 1). */
  from: number;
  to: number;
  bytes: Uint8Array;
  /** Where it was captured: `world`, `handshake` or `node`. */
  source: string;
}

/** Everything the fuzzer needs to rebuild its targets. */
export interface Corpus {
  seed: number;
  frames: CorpusFrame[];
  keys: KeyPair[];
  world: CaptureWorld;
  /** The victim (node 0) mid-conversation. */
  victim: Mark;
  network: string;
  /** Wall clock the handshakes see (fixed, so credential checks are reproducible). */
  wallClockMs: number;
  authority: KeyPair;
  /** Node 1's credential, shown in its HELLO. */
  credential: CredentialWire;
  /** Ids of the broadcast messages in the corpus (values for id fields: a GRAFT the victim can answer). */
  messageIds: Uint8Array[];
  /** Handshake settings of side `i` (0: victim, 1: peer); nonces come from `nonceSeed`. */
  handshakeConfig(i: number, suite: SignatureSuite, onPenalty?: HandshakeConfig["onPenalty"]): HandshakeConfig;
  engineOptions(i: number): Partial<EngineOptions>;
}

export const NETWORK = "fuzz";
const NODES = 7;
const WALL_CLOCK_MS = 1_767_225_600_000; // 2026-01-01
const enc = (s: string) => new TextEncoder().encode(s);

/** A key pair derived from the seed: every run with the seed has the same nodes. */
export function fuzzKeyPair(seed: number, i: number): KeyPair {
  const rng = seededRng(deriveSeed(seed, 7_000 + i));
  const s = new Uint8Array(32);
  for (let k = 0; k < 32; k += 4) new DataView(s.buffer).setUint32(k, rng.nextU32());
  return keyPairFromSeed(s);
}

/** Seeded bytes: the handshakes' nonces. */
function seededBytes(seed: number): (n: number) => Uint8Array {
  const rng = seededRng(seed);
  return (n) => {
    const out = new Uint8Array(n);
    for (let k = 0; k < n; k++) out[k] = rng.nextU32() & 0xff;
    return out;
  };
}

/**
 * Options of the world's engines: short periods so that everything happens within seconds, tiny
 * digests so that summaries and trie descents appear among seven origins.
 */
function engineOptions(i: number): Partial<EngineOptions> {
  const o: Partial<EngineOptions> = {
    network: NETWORK, intervalMs: 400, digestEntriesMax: 2, treeLeafOriginsMax: 1, probeIntervalMs: 1000,
    probeTimeoutMs: 400, shuffleIntervalMs: 2500, pushPullIntervalMs: 3000, graftTimeoutMs: 150, ihaveIntervalMs: 20,
    suspicionMult: 2, seedRetryMs: 3_600_000,
  };
  if (i === 1) o.addr = "wss://node1.fuzz.example/";
  if (i === 3) o.mode = "push"; // deltas pushed as rumors
  if (i === 2) o.activeViewMax = 2; // lets one of its three links go: SHUFFLE with DISCONNECT
  if (i === 6) o.membersMax = 3; // a full table shuffles whole claims (SHUFFLE); the others, by id (IDS SAMPLE)
  return o;
}

/** Writes and publishes of one node at one moment of the script. */
function activity(world: CaptureWorld, i: number, step: number): void {
  world.write(i, `k${step % 3}`, enc(`value ${i}.${step}`));
  if (step % 4 === 3) world.write(i, `k${(step + 1) % 3}`, null);
}

/** Runs the scripted world; returns it with the victim's mark. */
async function runWorld(suite: SignatureSuite, seed: number): Promise<{ world: CaptureWorld; victim: Mark }> {
  const keys = Array.from({ length: NODES }, (_, i) => fuzzKeyPair(seed, i));
  const world = new CaptureWorld(suite, keys, engineOptions, seed);
  // 0 is the victim; 4 will crash; 5 will leave; 6 is a leaf linked to 0 and 3 only.
  for (const [a, b] of [[0, 1], [0, 2], [0, 3], [0, 5], [0, 6], [1, 2], [1, 4], [2, 3], [3, 4], [1, 5], [3, 6]]) world.link(a, b);
  for (let i = 0; i < NODES; i++) activity(world, i, 0);
  await world.runUntil(1500);
  for (let step = 1; step <= 3; step++) {
    for (let i = 0; i < NODES; i++) activity(world, i, step);
    await world.runUntil(1500 + step * 700);
  }
  // Broadcasts; then a window in which node 0 loses every payload but hears announcements, so
  // it requests them (GRAFT with ids).
  for (const i of [1, 3, 0, 6]) {
    world.publish(i, "chat", enc(`hello from ${i}`));
    await world.runUntil(world.now + 150);
  }
  await world.runUntil(5000);
  world.drop = (_from, to, bytes) => to === 0 && bytes[1] === 4;
  for (const i of [1, 3, 5, 2]) {
    world.publish(i, "chat", enc(`lossy ${i}`));
    await world.runUntil(world.now + 400);
  }
  await world.runUntil(6500);
  // Publishers at once on all sides: messages crossing on cycles prune links at both ends, and a
  // node left with no eager link asks to get back on the tree (an empty GRAFT).
  for (let round = 0; round < 6; round++) {
    for (const i of round % 2 ? [6, 0, 3, 2] : [0, 3]) world.publish(i, "chat", enc(`crossing ${round}.${i}`));
    await world.runUntil(world.now + 250);
  }
  // Whether or not crossing messages left one with no eager link, the leaf (node 6) is pruned by
  // both its neighbours: with no eager link left it asks one back (an empty GRAFT).
  for (const from of [0, 3]) world.inject(from, 6, encodeFrame({ type: FRAME.PRUNE }));
  await world.runUntil(world.now + 100);
  // A large message, so the victim holds a 60 KB message to answer GRAFTs with (the corpus has
  // GRAFTs and IHAVEs naming it; the victim's own copy arrives once the lossy window closes).
  world.publish(1, "chat", new Uint8Array(60_000).fill(0x6c));
  await world.runUntil(world.now + 200);
  // Node 4 crashes: its probers ask helpers (PING_REQ), helpers with no link to it answer NACK,
  // the suspicion becomes a death.
  world.drop = (from, to) => from === 4 || to === 4;
  // Node 1 stalls for 3 s: its timers run late, so its next alive claim states a lag.
  world.stalledUntil[1] = 11_000;
  await world.runUntil(12_000);
  world.leave(5);
  for (let step = 4; step <= 6; step++) {
    for (const i of [0, 1, 2, 3, 6]) activity(world, i, step);
    world.publish(step % 2 ? 3 : 6, "chat", enc(`later ${step}`));
    await world.runUntil(12_000 + (step - 3) * 2000);
  }
  // A room four nodes join (SUBSCRIBE, and SCOPED frames of its own digests, deltas and messages);
  // a link that comes up afterwards hears node 2's whole set (SUBSCRIBE RESET), and node 6, outside
  // the room, publishes into it through a member.
  const room = scopeIdOf("room/fuzz");
  for (const i of [0, 1, 2, 3]) world.joinScope(i, room);
  for (const i of [0, 2]) world.write(i, "presence", enc(`in the room ${i}`), room);
  await world.runUntil(world.now + 500);
  world.publish(1, "room/fuzz", enc("cursor in the room"), true);
  world.publish(6, "room/fuzz", enc("from outside the room"), true);
  world.link(2, 6);
  await world.runUntil(world.now + 500);
  // Node 4 (crashed) turns out to have signed a second root for the version its peers hold; a
  // neighbour of node 1 (node 2 unless the views let that link go) passes it on to node 1, which
  // finds the equivocation and sends the evidence to its links.
  const via = [2, 0, 3, 6].find((v) => world.nodes[1].links.has(v));
  if (via === undefined) throw new Error("node 1 has no link left to hear the equivocation over");
  await equivocate(world, 4, via, 1);
  await world.runUntil(24_000);
  // Mid-conversation: a write being pushed, a message spreading, probes in flight.
  world.write(0, "k0", enc("victim mid-conversation"));
  world.publish(1, "chat", enc("in flight"));
  await world.runUntil(24_010);
  const victim = world.mark(0);
  await world.runUntil(27_000);
  return { world, victim };
}

/**
 * Node `origin` signs another root for its current version (another Merkle root, same everything
 * else), and node `via` passes it to `to` as a delta with an empty range: proof, on `to`, that the
 * origin equivocated.
 */
async function equivocate(world: CaptureWorld, origin: number, via: number, to: number): Promise<void> {
  const root = world.nodes[origin].engine.store.self.root;
  if (!root) throw new Error(`node ${origin} has no signed root to equivocate on`);
  const body = encodeRootBody({ ...root.fields, root: sha256(enc(`another map of node ${origin}`)) });
  const signature = await world.suite.sign(world.nodes[origin].key, signingBytes("root", NETWORK, PROTOCOL_VERSION, body));
  const v = root.fields.version;
  world.inject(via, to, encodeFrame({ type: FRAME.DELTA, flags: DELTA_FLAG.RUMOR, replyTo: 0, origins: [{ rootBody: body, signature, from: v, through: v, full: false, entries: [] }] }));
}

/** A memory link pair whose sends are recorded as frames from `from` to `to`. */
function tappedPair(record: (from: number, to: number, bytes: Uint8Array) => void, a = 0, b = 1): [Link, Link] {
  const [la, lb] = createMemoryLinkPair();
  for (const [link, from, to] of [[la, a, b], [lb, b, a]] as const) {
    const send = link.send.bind(link);
    link.send = (bytes) => {
      record(from, to, bytes);
      send(bytes);
    };
  }
  return [la, lb];
}

/** Captures the link layer: two handshakes (one refused) and a FORWARD and CLOSE between real nodes. */
async function captureLinkLayer(suite: SignatureSuite, corpus: Omit<Corpus, "frames">, push: (f: CorpusFrame) => void): Promise<void> {
  // Two sides run at once, and which one's signature comes back first depends on the machine's
  // load: frames are kept in each sender's own order (which is fixed), the senders one after another.
  const captured: [number, number, Uint8Array, string][] = [];
  const record = (source: string) => (from: number, to: number, bytes: Uint8Array) => void captured.push([from, to, bytes, source]);
  try {
    await captureLinks(suite, corpus, record);
  } finally {
    const phases = ["handshake", "node"];
    captured.sort((x, y) => phases.indexOf(x[3]) - phases.indexOf(y[3]) || x[0] - y[0]);
    for (const [from, to, bytes, source] of captured) addFrame(push, from, to, bytes, source);
  }
}

async function captureLinks(
  suite: SignatureSuite,
  corpus: Omit<Corpus, "frames">,
  record: (source: string) => (from: number, to: number, bytes: Uint8Array) => void,
): Promise<void> {
  const [la, lb] = tappedPair(record("handshake"));
  await Promise.all([runHandshake(la, corpus.handshakeConfig(0, suite)), runHandshake(lb, corpus.handshakeConfig(1, suite))]);
  la.close("captured");
  // Another network: both sides refuse with a CLOSE that says why.
  const [ra, rb] = tappedPair(record("handshake"));
  await Promise.allSettled([
    runHandshake(ra, corpus.handshakeConfig(0, suite)),
    runHandshake(rb, { ...corpus.handshakeConfig(1, suite), network: "elsewhere" }),
  ]);
  // Real nodes: FORWARD from node 1 to node 0, then node 1 closes the link.
  const [a, b] = await Promise.all([0, 1].map((i) => createNode({ ...corpus.engineOptions(i), keyPair: corpus.keys[i], suite, seed: i, generation: 1 })));
  try {
    const [na, nb] = tappedPair(record("node"));
    const [, hb] = await Promise.all([a.connect(na), b.connect(nb)]);
    await b.idle();
    b.sendTo(a.id, enc("forwarded payload"));
    hb.close("done capturing");
    await hb.closed;
  } finally {
    await Promise.all([a.close({ leave: false }), b.close({ leave: false })]);
  }
}

function addFrame(push: (f: CorpusFrame) => void, from: number, to: number, bytes: Uint8Array, source: string): void {
  const type = typeOf(bytes);
  if (!type) return;
  const decoded = decodeAny(bytes);
  if (!decoded) throw new Error(`captured a ${type.name} frame that its own decoder refuses: ${toHex(bytes).slice(0, 200)}`);
  push({ type, variants: variantsOf(type, decoded), from, to, bytes, source });
}

/**
 * Captures the corpus for `seed` (deterministic). Throws, naming them, if any frame type or form is
 * missing: a new frame type must be captured before the fuzzer runs.
 *
 * The real nodes' other frames (random nonces, real clock) are left out, so the corpus is the same
 * on every run.
 */
export async function captureCorpus(suite: SignatureSuite, seed: number): Promise<Corpus> {
  const keys = Array.from({ length: NODES }, (_, i) => fuzzKeyPair(seed, i));
  const authority = fuzzKeyPair(seed, 99);
  const credential = credentialToWire(await issueCredential(authority, keys[1].publicKey, WALL_CLOCK_MS + 365 * 86_400_000, NETWORK, suite));
  const { world, victim } = await runWorld(suite, seed);
  const base: Omit<Corpus, "frames"> = {
    seed, keys, world, victim, network: NETWORK, wallClockMs: WALL_CLOCK_MS, authority, credential, messageIds: [],
    engineOptions,
    handshakeConfig: (i, s, onPenalty) => ({
      keyPair: keys[i], suite: s, network: NETWORK, protocolVersion: PROTOCOL_VERSION,
      credential: i === 1 ? credential : null,
      // The victim admits by credential, so mutated credentials reach the signature check.
      admission: i === 0 ? { allow: new Set([nodeIdToText(keys[2].publicKey)]), authority: authority.publicKey } : null,
      timeoutMs: 5000, frameBytesMax: 1_048_576, expectedPeer: null, wallClock: () => WALL_CLOCK_MS,
      random: seededBytes(deriveSeed(seed, 8_000 + i)), earlyFramesMax: 64, earlyBytesMax: 2 * 1_048_576, onPenalty,
    }),
  };
  const frames: CorpusFrame[] = [];
  const seen = new Set<string>();
  const push = (f: CorpusFrame) => {
    // Real nodes run on the real clock with random nonces: only their FORWARD and CLOSE are the same every run.
    if (f.source === "node" && f.type.name !== "FORWARD" && f.type.name !== "CLOSE") return;
    const key = toHex(f.bytes);
    if (seen.has(key)) return;
    seen.add(key);
    frames.push(f);
  };
  for (const s of world.sent) addFrame(push, s.from, s.to, s.bytes, "world");
  await captureLinkLayer(suite, base, push);
  for (const f of frames) {
    const d = f.type.name === "GOSSIP" ? (decodeAny(f.bytes) as { body: Uint8Array }) : null;
    if (d) base.messageIds.push(sha256(signingBytes("message", NETWORK, PROTOCOL_VERSION, d.body)));
  }
  const missing = missingFromCorpus(frames);
  if (missing.length) {
    throw new Error(`the fuzz corpus (seed ${seed}) lacks: ${missing.join(", ")}. Make the capture scenario in cli/fuzz/corpus.ts produce them.`);
  }
  return { ...base, frames };
}
