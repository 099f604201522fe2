/**
 * The presence example written with `grapevine/react`: one component that opens the room with
 * `useRoom`, shows one avatar per user (`useUsers`), edits this member's name (`usePresence`) and
 * draws everyone's cursor (`useBroadcast`). Written with `createElement` rather than JSX so that it
 * builds with no JSX set-up. `react-main.ts` mounts it in the demo's `/presence/react` page; the
 * browser test mounts it under StrictMode.
 *
 * @module
 */

import { createElement as h, useEffect, useRef, useState } from "react";
import type { GrapevineNode } from "../../mod.ts";
import { useBroadcast, useOthers, usePresence, useRoom, useSelf, useUsers } from "../../src/react/mod.ts";

/** This member's state in the example room. */
export interface Me {
  name: string;
  color: string;
}

type Cursor = { x: number; y: number };

/** Renders of {@link PresenceApp} so far (the browser test checks that an idle room renders nothing). */
export const renders = { count: 0 };

const CURSOR_MS = 40;

/** The example: avatars by user, a name field, live cursors. */
export function PresenceApp({ node, user, me, room: id = "demo-react" }: { node: GrapevineNode; user: string; me: Me; room?: string }) {
  renders.count++;
  const room = useRoom<Me>(node, id, { presence: me, user });
  const self = useSelf(room);
  const others = useOthers(room);
  const users = useUsers(room);
  const [state, update] = usePresence(room);
  const [cursors, setCursors] = useState<Record<string, Cursor>>({});
  const sendCursor = useBroadcast<Cursor>(room, "cursor", (m) => setCursors((c) => ({ ...c, [m.peer]: m.payload })));
  const [log, setLog] = useState("");
  const last = useRef(0);

  useEffect(() => {
    if (!room) return;
    const offs = [
      room.presence.on("join", ({ entry }) => setLog(`${entry.state.name} joined`)),
      room.presence.on("leave", ({ entry, reason }) => {
        setLog(`${entry.state.name} left (${reason})`);
        setCursors(({ [entry.peer]: _, ...rest }) => rest);
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [room]);

  const avatars = [...users].map(([key, entries]) =>
    h("div", {
      key, className: key === user ? "avatar me" : "avatar", style: { background: entries[0].state.color },
      title: `${entries[0].state.name} · ${entries.length} tab${entries.length > 1 ? "s" : ""}`,
    }, entries[0].state.name.slice(0, 1).toUpperCase(), entries.length > 1 ? h("span", { className: "tabs" }, String(entries.length)) : null)
  );
  const byPeer = new Map(others.map((o) => [o.peer, o]));
  const pointers = Object.entries(cursors).filter(([peer]) => byPeer.has(peer)).map(([peer, c]) =>
    h("div", { key: peer, className: "cursor", "data-peer": peer, style: { left: `${c.x * 100}%`, top: `${c.y * 100}%` } },
      h("span", { style: { background: byPeer.get(peer)!.state.color } }, byPeer.get(peer)!.state.name))
  );

  return h("div", { className: "app" },
    h("header", null,
      h("h1", null, "presence · react"),
      h("div", { id: "avatars" }, ...avatars),
      h("label", null, "name ", h("input", {
        id: "name", maxLength: 20, value: state?.name ?? "", onChange: (e: { target: { value: string } }) => update({ name: e.target.value || "?" }),
      }))),
    h("main", {
      id: "board",
      onPointerMove: (e: { clientX: number; clientY: number; currentTarget: HTMLElement }) => {
        const now = Date.now();
        if (now - last.current < CURSOR_MS) return;
        last.current = now;
        const r = e.currentTarget.getBoundingClientRect();
        sendCursor({ x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height });
      },
    }, ...pointers),
    h("footer", null,
      h("span", { id: "status" }, self ? `${others.length + 1} tabs here` : "connecting…"),
      h("span", { id: "log" }, log)));
}
