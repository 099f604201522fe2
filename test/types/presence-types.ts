/**
 * A typed example, checked by `tsc` (`npm run typecheck`), never run: what a web developer writes
 * against the node's and the room's events, snapshots and the React hooks must compile without
 * casts or `!`, and what is wrong must not compile (each `@ts-expect-error` fails the type check if
 * its line ever type-checks).
 */
import type { BroadcastMessage, DirectLinks, GrapevineNode, MemberEventDetail, PresenceEntry, PresenceEvent, PresenceSnapshot, Room } from "../../mod.ts";
import { shallow, useBroadcast, useNode, useOther, useOthers, usePresence, useRoom, useSelf, useUsers } from "../../src/react/mod.ts";

interface Cursor {
  name: string;
  color: string;
}

declare const node: GrapevineNode;

declare const direct: DirectLinks;

export function directEvents(): void {
  const off = direct.on("direct-up", ({ peer }) => void peer.length);
  off();
  direct.on("direct-down", ({ peer, reason }) => void (peer + reason));
  direct.addEventListener("direct-failed", (e) => void e.detail.reason);
  // @ts-expect-error `direct-up` says only which peer
  direct.on("direct-up", ({ reason }) => void reason);
  // @ts-expect-error the links' events are not the node's
  direct.on("member", () => {});
}

export function nodeEvents(): void {
  const off = node.on("member", (m) => {
    const d: MemberEventDetail = m;
    void d.state;
  });
  off();
  node.on("message", (m) => {
    const b: BroadcastMessage = m;
    void b.topic;
  });
  node.on("direct", ({ from, payload }) => void (from.length + payload.byteLength));
  node.on("change", (c) => void c.origin);
  node.on("close", (detail) => {
    const nothing: undefined = detail;
    void nothing;
  });
  node.addEventListener("link", (e) => void e.detail.up);
  node.addEventListener("close", (e) => void e.type);
  node.addEventListener("something-else", (e) => void e.type); // any other type: a plain Event
  // @ts-expect-error a FORWARD is `direct`; `message` is a broadcast message, which has no `from`
  node.on("message", (m) => void m.from);
  const offKey = node.on("key-in-use", ({ generation, ours }) => void (generation > ours));
  offKey();
  // @ts-expect-error `error` is never dispatched, so it is not in the map
  node.on("error", () => {});
  // @ts-expect-error the detail of a member event has no `peer`
  node.addEventListener("member", (e) => void e.detail.peer);
}

export function presenceEvents(room: Room<Cursor>): void {
  room.presence.on("join", ({ entry }) => void entry.state.name.toUpperCase());
  room.presence.on("update", ({ entry, previous }) => void (entry.state.color + previous.color));
  room.presence.on("leave", ({ entry, reason }) => {
    const r: "left" | "timeout" | "evicted" = reason;
    void [entry.peer, r];
  });
  room.presence.on("sync", ({ others }) => void others.map((o) => o.state.name));
  room.presence.addEventListener("join", (e) => void e.detail.entry.verified);
  const all = (d: PresenceEvent<Cursor>) => {
    switch (d.type) {
      case "sync":
        return d.others.length;
      case "leave":
        return d.reason.length;
      default:
        return d.entry.user.length; // join and update both carry an entry
    }
  };
  void all;
  // @ts-expect-error a join has no reason
  room.presence.on("join", ({ reason }) => void reason);
  // @ts-expect-error a sync has no entry
  room.presence.on("sync", ({ entry }) => void entry);
  // @ts-expect-error not a presence event
  room.presence.on("joined", () => {});
  // @ts-expect-error the state is typed
  room.presence.on("join", ({ entry }) => void entry.state.size);
}

export function snapshots(room: Room<Cursor>): void {
  const s: PresenceSnapshot<Cursor> = room.presence.getSnapshot();
  const self: PresenceEntry<Cursor> | null = s.self;
  const tabs = s.users.get("alice")?.length ?? 0;
  const unsubscribe: () => void = room.presence.subscribe(() => {});
  void [self, tabs, unsubscribe];
  // @ts-expect-error snapshots are read-only
  s.others.push(s.others[0]);
  // @ts-expect-error entries are read-only
  s.others[0].state = { name: "x", color: "y" };
  room.presence.update({ color: "#36c" });
  // @ts-expect-error not a field of the state
  room.presence.update({ colour: "#36c" });
}

export function hooks(): void {
  // Hooks are functions; calling them outside a component is fine for the type checker.
  const room = useRoom<Cursor>(node, "doc", { presence: { name: "Ada", color: "#c33" } });
  const others: readonly PresenceEntry<Cursor>[] = useOthers(room);
  const self: PresenceEntry<Cursor> | null = useSelf(room);
  const users = useUsers(room);
  const [me, update] = usePresence(room);
  const name: string | undefined = me?.name;
  update({ color: "#36c" });
  const send = useBroadcast<{ x: number }, Cursor>(room, "cursor", (m) => void (m.payload.x + m.peer.length));
  send({ x: 1 });
  void [others, self, users, name];
  // @ts-expect-error the patch is typed by the state
  update({ size: 3 });
  // @ts-expect-error the payload is typed
  send({ y: 1 });
  // @ts-expect-error presence must match the room's state type
  useRoom<Cursor>(node, "doc", { presence: { name: 1 } });

  // useNode: a node or null, from an async factory.
  const own: GrapevineNode | null = useNode(async () => node, []);
  void useRoom<Cursor>(own, "doc");
  // @ts-expect-error the factory resolves with a node
  useNode(async () => "not a node");

  // Selectors: the selection's type is what the selector returns.
  const names: string[] = useOthers(room, (o) => o.map((e) => e.state.name), shallow);
  const color: string | null = useOther(room, "peer-id", (e) => e?.state.color ?? null);
  const entry: PresenceEntry<Cursor> | null = useOther(room, "peer-id");
  const myName: string | undefined = useSelf(room, (e) => e?.state.name);
  void [names, color, entry, myName];
  // @ts-expect-error the selected value is typed
  const wrong: number[] = useOthers(room, (o) => o.map((e) => e.state.name));
  // @ts-expect-error isEqual compares selections
  useOthers(room, (o) => o.length, (a: string, b: string) => a === b);
  void wrong;
}

export async function lite(): Promise<void> {
  const { broadcastPart, createNode, membershipPart } = await import("../../src/lite/mod.ts");
  const bare: GrapevineNode = await createNode({ network: "app" });
  const withBroadcast = await createNode({ network: "app", parts: { broadcast: broadcastPart } });
  const everything = await createNode({ network: "app", parts: { broadcast: broadcastPart, membership: membershipPart } });
  const room: Room<Cursor> = withBroadcast.room<Cursor>("doc", { presence: { name: "Ada", color: "#c33" } });
  void [bare, everything, room];
  // @ts-expect-error a part is a part object, not a flag
  await createNode({ parts: { broadcast: true } });
  // @ts-expect-error there is no such part
  await createNode({ parts: { webrtc: broadcastPart } });
  // README: a tab keeps its identity across reloads (the key's text form is accepted as is).
  const { exportSecretKey, keyPairFromSeedAsync } = await import("../../src/lite/mod.ts");
  const storage = new Map<string, string>();
  const saved: string | undefined = storage.get("grapevine-key");
  const keyPair = saved ?? exportSecretKey(await keyPairFromSeedAsync(crypto.getRandomValues(new Uint8Array(32)), crypto.subtle));
  storage.set("grapevine-key", keyPair);
  const again: GrapevineNode = await createNode({ network: "my-app", keyPair });
  void again;
}
