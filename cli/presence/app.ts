/**
 * The presence example's script (bundled by the demo, served at `/presence/app.js`). Each tab is a
 * node dialed to the relay that served the page, in the room of one document (`doc-1` … `doc-4`,
 * `?doc=` in the URL; the first by default): its presence is a name and a colour; its cursor goes
 * out with `room.broadcast` (at most every 40 ms), never stored. Switching documents closes the old
 * room — the others there see this tab leave — and opens the new one: avatars and cursors are per
 * document. The demo's peer processes sit in documents too (flagged `bot`), moving their cursors.
 * Tabs of one browser share a user key (kept in `localStorage`), so a user with three tabs is one
 * avatar with a "3". The footer logs joins, updates and leaves with their reason.
 *
 * @module
 */

import { createNode, dial, type GrapevineNode } from "../../mod.ts";
import type { PresenceEntry, Room } from "../../src/presence/room.ts";
import { type DemoPresence, documentFrom, DOCUMENTS } from "../demo/documents.ts";
import { localIdentity, PALETTE } from "./identity.ts";

type Me = DemoPresence;

const config = JSON.parse(document.getElementById("config")?.textContent ?? "{}") as { network: string; intervalMs: number };
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const CURSOR_MS = 40;
const CURSOR_IDLE_MS = 4000;
const { user, me } = localIdentity();
const cursors = new Map<string, { el: HTMLElement; at: number }>();

function log(text: string): void {
  $("log").textContent = `${new Date().toLocaleTimeString()} ${text}`;
}

function renderAvatars(room: Room<Me>): void {
  const box = $("avatars");
  box.replaceChildren();
  for (const [key, entries] of room.presence.byUser()) {
    const first = entries[0].state;
    const a = document.createElement("div");
    a.className = key === user ? "avatar me" : first.bot ? "avatar bot" : "avatar";
    a.style.background = first.color;
    a.title = first.bot
      ? `${first.name} · a demo peer process`
      : `${first.name} · ${entries.length} tab${entries.length > 1 ? "s" : ""} · ${entries.map((e) => e.reach).join(", ")}`;
    a.textContent = first.name.slice(0, 1).toUpperCase();
    if (entries.length > 1) {
      const t = document.createElement("span");
      t.className = "tabs";
      t.textContent = String(entries.length);
      a.append(t);
    }
    box.append(a);
  }
  const bots = room.presence.others.filter((o) => o.state.bot).length;
  const tabs = room.presence.others.length - bots + 1;
  $("status").textContent = `${tabs} tabs here${bots ? ` · ${bots} demo peer${bots > 1 ? "s" : ""}` : ""}`;
}

function drawCursor(peer: string, entry: PresenceEntry<Me> | undefined, x: number, y: number): void {
  let c = cursors.get(peer);
  if (!c) {
    const el = document.createElement("div");
    el.className = "cursor";
    el.dataset.peer = peer;
    el.innerHTML = `<svg width="16" height="20" viewBox="0 0 16 20"><path d="M0 0 L0 16 L4.5 12 L8 19 L10.5 18 L7 11 L13 11 Z" stroke="#fff" stroke-width="1"/></svg><span></span>`;
    $("board").append(el);
    cursors.set(peer, (c = { el, at: 0 }));
  }
  const color = entry?.state.color ?? "#888";
  (c.el.querySelector("path") as SVGPathElement).setAttribute("fill", color);
  const label = c.el.querySelector("span")!;
  label.textContent = entry?.state.name ?? "…";
  label.style.background = color;
  c.el.style.transform = `translate(${x * $("board").clientWidth}px, ${y * $("board").clientHeight}px)`;
  c.el.style.opacity = "1";
  c.at = Date.now();
}

/** The document open now: its room, and what to undo when leaving it. */
let open: { doc: string; room: Room<Me> } | null = null;

function clearCursors(): void {
  for (const c of cursors.values()) c.el.remove();
  cursors.clear();
}

/** Leaves the document open (if another), and opens `doc`'s room. */
function openDocument(node: GrapevineNode, doc: string): void {
  if (open?.doc === doc) return;
  open?.room.close(); // the others there see this tab leave
  clearCursors();
  const room = node.room<Me>(doc, { presence: { ...me }, user });
  open = { doc, room };
  const current = () => open?.room === room;
  room.presence.on("sync", () => current() && renderAvatars(room));
  room.presence.on("join", ({ entry }) => current() && (renderAvatars(room), log(`${entry.state.name} joined ${doc}`)));
  room.presence.on("update", ({ entry }) => current() && (renderAvatars(room), log(`${entry.state.name} updated`)));
  room.presence.on("leave", ({ entry, reason }) => {
    if (!current()) return;
    renderAvatars(room);
    cursors.get(entry.peer)?.el.remove();
    cursors.delete(entry.peer);
    log(`${entry.state.name} left (${reason})`);
  });
  room.subscribe<{ x: number; y: number }>("cursor", (m) => {
    if (current()) drawCursor(m.peer, room.presence.others.find((o) => o.peer === m.peer), m.payload.x, m.payload.y);
  });
  renderAvatars(room);
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>("#docs button"))) b.setAttribute("aria-pressed", String(b.dataset.doc === doc));
  document.body.dataset.doc = doc;
  document.title = `grapevine · presence · ${doc}`;
  const url = new URL(location.href);
  url.searchParams.set("doc", doc);
  history.replaceState(null, "", url);
}

async function main(): Promise<void> {
  const node = await createNode({ network: config.network, intervalMs: config.intervalMs });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  dial(node, `${scheme}://${location.host}/`);
  // For tests and the console: this tab's id, and who it sees in the open document.
  (globalThis as { presence?: unknown }).presence = {
    id: node.id,
    others: () => open?.room.presence.others.map((e) => ({ peer: e.peer, name: e.state.name, bot: e.state.bot === true })) ?? [],
  };
  addEventListener("pagehide", () => void node.close()); // a closing tab leaves at once (reason "left")

  const docs = $("docs");
  for (const doc of DOCUMENTS) {
    const b = document.createElement("button");
    b.dataset.doc = doc;
    b.textContent = doc;
    b.addEventListener("click", () => openDocument(node, doc));
    docs.append(b);
  }
  openDocument(node, documentFrom(location.search));

  const name = $<HTMLInputElement>("name");
  const color = $<HTMLInputElement>("color");
  name.value = me.name;
  color.value = /^#[0-9a-f]{6}$/i.test(me.color) ? me.color : PALETTE[0];
  name.addEventListener("input", () => {
    localStorage.setItem("gv-presence-name", name.value);
    me.name = name.value || "?";
    open?.room.presence.update({ name: me.name });
    if (open) renderAvatars(open.room);
  });
  color.addEventListener("input", () => {
    localStorage.setItem("gv-presence-color", color.value);
    me.color = color.value;
    open?.room.presence.update({ color: me.color });
    if (open) renderAvatars(open.room);
  });

  let last = 0;
  let pending: { x: number; y: number } | null = null;
  const flush = () => {
    if (!pending) return;
    open?.room.broadcast("cursor", pending);
    pending = null;
    last = Date.now();
  };
  $("board").addEventListener("pointermove", (e) => {
    const r = $("board").getBoundingClientRect();
    pending = { x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height };
    if (Date.now() - last >= CURSOR_MS) flush();
    else setTimeout(flush, CURSOR_MS - (Date.now() - last));
  });
  setInterval(() => {
    for (const c of cursors.values()) if (Date.now() - c.at > CURSOR_IDLE_MS) c.el.style.opacity = "0.25";
  }, 1000);
}

main().catch((e) => {
  $("status").textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
});
