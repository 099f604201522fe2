/**
 * `bench size` entry "presence+webrtc": presence plus direct links (WebRTC data channels set up
 * through the relay, with the browser's `RTCPeerConnection`).
 *
 * @module
 */
import { attachDirectLinks } from "../../src/runtime/direct.ts";
import type { RTCPeerConnectionConstructor } from "../../src/transport/webrtc.ts";
import { start as presence } from "./presence.ts";

/** Joins `room` and upgrades to direct links where it can. */
export async function start(url: string, room: string, state: unknown) {
  const { node, room: r } = await presence(url, room, state);
  const RTCPeerConnection = globalThis.RTCPeerConnection as unknown as RTCPeerConnectionConstructor;
  return { room: r, direct: attachDirectLinks(node, { RTCPeerConnection }) };
}
