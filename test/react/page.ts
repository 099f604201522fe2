/**
 * A browser page for the React test (bundled by esbuild with React's development build, where
 * StrictMode mounts, unmounts and mounts again): the presence example's component under StrictMode,
 * on a node dialed to the test's relay, driven through `window.rv`.
 */
import { createElement as h, StrictMode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { createNode, dial, type GrapevineNode } from "../../mod.ts";
import { PresenceApp, renders } from "../../cli/presence/react-app.ts";
import { shallow, useNode, useOther, useOthers, useRoom } from "../../src/react/mod.ts";
import type { Me } from "../../cli/presence/react-app.ts";

let node: GrapevineNode;
let root: Root | null = null;
let props: Parameters<typeof PresenceApp>[0];
/** Handles opened: StrictMode opens the room twice on mount. */
let opens = 0;
/** This node's writes of its presence key: StrictMode's unmount must not delete it. */
const writes = { set: 0, deleted: 0 };

/** Renders of the selector probe, by what it reads. */
const probe = { all: 0, names: 0, color: 0, seen: { names: [] as string[], color: null as string | null } };
let probeRoot: Root | null = null;

/** Reads the room three ways; each part counts its own renders. */
function Probe({ peer }: { peer: string }) {
  const room = useRoom<Me>(node, props.room!);
  return h("div", null, h(All, { room }), h(Names, { room }), h(Color, { room, peer }));
}
function All({ room }: { room: ReturnType<typeof useRoom<Me>> }) {
  probe.all++;
  return h("span", null, String(useOthers(room).length));
}
function Names({ room }: { room: ReturnType<typeof useRoom<Me>> }) {
  probe.names++;
  const names = useOthers(room, (o) => o.map((e) => e.state.name), shallow);
  probe.seen.names = [...names];
  return h("span", null, names.join(","));
}
function Color({ room, peer }: { room: ReturnType<typeof useRoom<Me>>; peer: string }) {
  probe.color++;
  const color = useOther(room, peer, (e) => e?.state.color ?? null);
  probe.seen.color = color;
  return h("span", null, color);
}

/** Nodes `useNode` created in the page, and which of them closed. */
const made: { id: string; closed: boolean }[] = [];
let nodeRoot: Root | null = null;

/** A component that keeps its own node (`useNode`) and shows its presence in a room. */
function OwnNode({ url, network, room, fast }: { url: string; network: string; room: string; fast: Record<string, number> }) {
  const own = useNode(async () => {
    const n = await createNode({ network, ...fast });
    const rec = { id: n.id, closed: false };
    made.push(rec);
    n.addEventListener("close", () => void (rec.closed = true));
    dial(n, url);
    return n;
  });
  const r = useRoom<Me>(own, room, { presence: { name: "own-node", color: "#000000" } });
  return h("span", { id: "own" }, own && r ? own.id : "");
}

const rv = {
  async start(o: { url: string; network: string; room: string; name: string; fast: Record<string, number> }): Promise<string> {
    node = await createNode({ network: o.network, ...o.fast });
    const room = node.room.bind(node);
    node.room = ((id: string, options?: object) => (opens++, room(id, options))) as typeof node.room;
    node.on("change", (c) => void (c.local && c.scope === `room/${o.room}` && c.key === "presence" && writes[c.deleted ? "deleted" : "set"]++));
    dial(node, o.url);
    props = { node, user: "react-user", me: { name: o.name, color: "#30638e" }, room: o.room };
    rv.mount();
    return node.id;
  },
  mount(): void {
    const el = document.createElement("div");
    const style = document.createElement("style");
    style.textContent = "#board { height: 400px; position: relative; } .cursor { position: absolute; }"; // the page has no stylesheet
    document.body.replaceChildren(style, el);
    root = createRoot(el);
    root.render(h(StrictMode, null, h(PresenceApp, props)));
  },
  unmount(): void {
    root?.unmount();
    root = null;
  },
  mountProbe(peer: string): void {
    const el = document.createElement("div");
    document.body.append(el);
    probeRoot = createRoot(el);
    probeRoot.render(h(StrictMode, null, h(Probe, { peer })));
  },
  unmountProbe(): void {
    probeRoot?.unmount();
    probeRoot = null;
  },
  probe: () => probe,
  mountOwnNode(o: { url: string; network: string; room: string; fast: Record<string, number> }): void {
    const el = document.createElement("div");
    document.body.append(el);
    nodeRoot = createRoot(el);
    nodeRoot.render(h(StrictMode, null, h(OwnNode, o)));
  },
  unmountOwnNode(): void {
    nodeRoot?.unmount();
    nodeRoot = null;
  },
  made: () => made,
  renders: () => renders.count,
  opens: () => opens,
  writes: () => writes,
};

(globalThis as unknown as { rv: typeof rv }).rv = rv;
