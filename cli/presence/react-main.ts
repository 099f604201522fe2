/**
 * The script of the demo's `/presence/react` page: a node dialed to the relay that served the page,
 * and {@link PresenceApp} mounted under React's StrictMode. Tabs of one browser share a user key
 * (kept in `localStorage`), as in the plain example. Its room is `demo-react`, or with `?doc=doc-N`
 * that document's room, shared with the plain page's tabs and the demo's peers. The node comes from
 * `grapevine/lite` with the broadcast part only (cursors ride on `room.broadcast`): no failure
 * detection runs in the tab, and its bundle leaves membership out.
 *
 * @module
 */

import { createElement as h, StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { broadcastPart, createNode, dial } from "../../src/lite/mod.ts";
import { DOCUMENTS } from "../demo/documents.ts";
import { PresenceApp } from "./react-app.ts";
import { localIdentity } from "./identity.ts";

const config = JSON.parse(document.getElementById("config")?.textContent ?? "{}") as { network: string; intervalMs: number };
const { user, me } = localIdentity();

async function main(): Promise<void> {
  const node = await createNode({ network: config.network, intervalMs: config.intervalMs, parts: { broadcast: broadcastPart } });
  dial(node, `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`);
  addEventListener("pagehide", () => void node.close()); // a closing tab leaves at once (reason "left")
  const doc = new URLSearchParams(location.search).get("doc");
  const room = doc !== null && DOCUMENTS.includes(doc) ? doc : undefined;
  createRoot(document.getElementById("root")!).render(h(StrictMode, null, h(PresenceApp, { node, user, me, room })));
}

main().catch((e) => {
  document.body.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
});
