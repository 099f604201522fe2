/**
 * The presence example's script (bundled by the demo, served at `/presence/app.js`). Each tab is a
 * node dialed to the relay that served the page, in the room `demo`: its presence is a name and a
 * colour; its cursor goes out with `room.broadcast` (at most every 40 ms), never stored. Tabs of one
 * browser share a user key (kept in `localStorage`), so a user with three tabs is one avatar with
 * a "3". The footer logs joins, updates and leaves with their reason.
 *
 * @module
 */

import { createNode, dial } from "../../mod.ts";
import type { PresenceEntry, Room } from "../../src/presence/room.ts";

interface Me {
  name: string;
  color: string;
}

const config = JSON.parse(document.getElementById("config")?.textContent ?? "{}") as { network: string; intervalMs: number };
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const CURSOR_MS = 40;
const CURSOR_IDLE_MS = 4000;
/** Hex, as `<input type="color">` wants it. */
const PALETTE = ["#d1495b", "#00798c", "#edae49", "#30638e", "#6a4c93", "#2a9d8f", "#e76f51", "#3d5a80"];

function stored(key: string, make: () => string): string {
  let v = localStorage.getItem(key);
  if (!v) localStorage.setItem(key, (v = make()));
  return v;
}

const user = stored("gv-presence-user", () => Math.random().toString(36).slice(2, 10));
const me: Me = {
  name: stored("gv-presence-name", () => ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Ken", "Radia", "Leslie"][Math.floor(Math.random() * 8)]),
  color: stored("gv-presence-color", () => PALETTE[Math.floor(Math.random() * PALETTE.length)]),
};
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
    a.className = key === user ? "avatar me" : "avatar";
    a.style.background = first.color;
    a.title = `${first.name} · ${entries.length} tab${entries.length > 1 ? "s" : ""} · ${entries.map((e) => e.reach).join(", ")}`;
    a.textContent = first.name.slice(0, 1).toUpperCase();
    if (entries.length > 1) {
      const t = document.createElement("span");
      t.className = "tabs";
      t.textContent = String(entries.length);
      a.append(t);
    }
    box.append(a);
  }
  $("status").textContent = `${room.presence.others.length + 1} tabs here`;
}

function drawCursor(peer: string, entry: PresenceEntry<Me> | undefined, x: number, y: number): void {
  let c = cursors.get(peer);
  if (!c) {
    const el = document.createElement("div");
    el.className = "cursor";
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

async function main(): Promise<void> {
  const node = await createNode({ network: config.network, intervalMs: config.intervalMs });
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  dial(node, `${scheme}://${location.host}/`);
  const room = node.room<Me>("demo", { presence: me, user });
  addEventListener("pagehide", () => void node.close()); // a closing tab leaves at once (reason "left")

  const name = $<HTMLInputElement>("name");
  const color = $<HTMLInputElement>("color");
  name.value = me.name;
  color.value = /^#[0-9a-f]{6}$/i.test(me.color) ? me.color : PALETTE[0];
  name.addEventListener("input", () => {
    localStorage.setItem("gv-presence-name", name.value);
    room.presence.update({ name: name.value || "?" });
    renderAvatars(room);
  });
  color.addEventListener("input", () => {
    localStorage.setItem("gv-presence-color", color.value);
    room.presence.update({ color: color.value });
    renderAvatars(room);
  });

  room.presence.on("sync", () => renderAvatars(room));
  room.presence.on("join", ({ entry }) => (renderAvatars(room), log(`${entry.state.name} joined`)));
  room.presence.on("update", ({ entry }) => (renderAvatars(room), log(`${entry.state.name} updated`)));
  room.presence.on("leave", ({ entry, reason }) => {
    renderAvatars(room);
    cursors.get(entry.peer)?.el.remove();
    cursors.delete(entry.peer);
    log(`${entry.state.name} left (${reason})`);
  });
  renderAvatars(room);

  room.subscribe<{ x: number; y: number }>("cursor", (m) => {
    drawCursor(m.peer, room.presence.others.find((o) => o.peer === m.peer), m.payload.x, m.payload.y);
  });
  let last = 0;
  let pending: { x: number; y: number } | null = null;
  const flush = () => {
    if (!pending) return;
    room.broadcast("cursor", pending);
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
