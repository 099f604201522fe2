// The driver's side of membership: member events, want-link for members that advertise where
// they listen, and links to dead members closed. Memory links, real timers.
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLinkPair, createNode, type GrapevineNode, type MemberEventDetail, type NodeOptions } from "../../mod.ts";
import { keyPair } from "../core/harness.ts";
import { until } from "../relay/helpers.ts";

const FAST: NodeOptions = { network: "members", intervalMs: 50, probeIntervalMs: 100, probeTimeoutMs: 50, memberGossipIntervalMs: 20 };

const nodes: GrapevineNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close({ leave: false });
});

async function node(i: number, options: NodeOptions = {}): Promise<GrapevineNode> {
  const n = await createNode({ ...FAST, keyPair: keyPair(40 + i), seed: i, ...options });
  nodes.push(n);
  return n;
}

async function link(a: GrapevineNode, b: GrapevineNode) {
  const [x, y] = createMemoryLinkPair();
  const [ha] = await Promise.all([a.connect(x), b.connect(y)]);
  return ha;
}

describe("membership in the driver", () => {
  it("dispatches member events, and want-link only for members with an address", async () => {
    const a = await node(1);
    // Listening from the start: a asks for a link to a member once (again only after 30 s), and it
    // may hear of `listening` while the links below are still being made.
    const events: MemberEventDetail[] = [];
    const wants: { peer: string; url: string }[] = [];
    a.addEventListener("member", (e) => events.push((e as CustomEvent<MemberEventDetail>).detail));
    a.addEventListener("want-link", (e) => wants.push((e as CustomEvent<{ peer: string; url: string }>).detail));
    const hub = await node(2);
    const listening = await node(3, { addr: "ws://127.0.0.1:9/" });
    const hidden = await node(4);
    await link(a, hub);
    await link(listening, hub);
    await link(hidden, hub);
    await until(() => a.members().filter((m) => m.state === "alive").length === 3, 5000, "a knows everyone");
    expect(a.memberState(listening.id)).toBe("alive");
    expect(a.members().find((m) => m.id === listening.id)).toMatchObject({ url: "ws://127.0.0.1:9/", linked: false });
    await until(() => wants.length > 0, 10_000, "a wants a link");
    expect(wants.every((w) => w.peer === listening.id && w.url === "ws://127.0.0.1:9/")).toBe(true);
    expect(events.some((e) => e.id === hidden.id && e.state === "alive" && e.previous === null)).toBe(true);
  });

  it("a link to a member declared dead is closed", async () => {
    const a = await node(5);
    const b = await node(6);
    const c = await node(7);
    const h = await link(a, b);
    await link(a, c);
    await link(b, c);
    await until(() => a.memberState(b.id) === "alive" && c.memberState(b.id) === "alive", 5000, "all alive");
    // b stops answering without closing its sockets (a frozen process): it is suspected, then dead.
    b.engine.close();
    let reason = "";
    void h.closed.then((r) => (reason = r));
    await until(() => a.memberState(b.id) === "dead", 10_000, "b dead at a");
    await until(() => reason !== "", 3000, "the link to b closed");
    expect(reason).toBe("member dead");
  });
});
