/**
 * The Node peer of the presence browser test, run as its own process (bundled by esbuild) so the
 * test can kill it outright (SIGKILL: no farewell, the socket just drops). It dials the relay, joins
 * the room and prints its id; nothing else.
 *
 * Usage: node peer.mjs RELAY_URL NETWORK TIMEOUT_MS FAST_OPTIONS_JSON
 */
import { createNode, dial } from "../../mod.ts";
import { nodeWebSocket } from "../../src/transport/ws-node.ts";

const [url, network, timeoutMs, fast] = process.argv.slice(2);
const node = await createNode({ network, ...JSON.parse(fast) });
dial(node, url, { WebSocket: nodeWebSocket });
const room = node.room("lobby", { presence: { name: "node-peer" }, timeoutMs: Number(timeoutMs), throttleMs: 50 });
room.presence.on("sync", ({ others }) => console.log(JSON.stringify({ sync: others.length })));
console.log(JSON.stringify({ id: node.id }));
setInterval(() => {}, 1 << 30); // stay up until killed
