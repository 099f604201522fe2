/**
 * A browser page for the React test (bundled by esbuild with React's development build, where
 * StrictMode mounts, unmounts and mounts again): the presence example's component under StrictMode,
 * on a node dialed to the test's relay, driven through `window.rv`.
 */
import { createElement as h, StrictMode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { createNode, dial, type GrapevineNode } from "../../mod.ts";
import { PresenceApp, renders } from "../../cli/presence/react-app.ts";

let node: GrapevineNode;
let root: Root | null = null;
let props: Parameters<typeof PresenceApp>[0];
/** Handles opened: StrictMode opens the room twice on mount. */
let opens = 0;
/** This node's writes of its presence key: StrictMode's unmount must not delete it. */
const writes = { set: 0, deleted: 0 };

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
  renders: () => renders.count,
  opens: () => opens,
  writes: () => writes,
};

(globalThis as unknown as { rv: typeof rv }).rv = rv;
