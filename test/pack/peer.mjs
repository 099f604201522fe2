// A peer as a user of the installed package writes it, run by the pack test under Node, Deno and
// Bun from a project that installed the tarball: it dials the relay, writes which runtime it is,
// and prints one JSON line once it holds the writes of `expect` other peers (or when time is up).
//   <runtime> peer.mjs RELAY_URL NETWORK NAME EXPECT
import { createNode, dial } from "grapevine";

const [url, network, name, expectText] = (globalThis.Deno ? Deno.args : process.argv.slice(2));
const expected = Number(expectText);
const exit = (code) => (globalThis.Deno ? Deno.exit(code) : process.exit(code));
// Node 20 has no global WebSocket: the package's own ws-based one.
const WebSocket = globalThis.WebSocket ?? (await import("grapevine/node")).nodeWebSocket;
const node = await createNode({ network, intervalMs: 100 });
const dialer = dial(node, url, { WebSocket, backoffMinMs: 50, backoffMaxMs: 500 });
node.set("runtime", name);

const started = Date.now();
const timer = setInterval(() => {
  const saw = node.origins().filter((o) => o !== node.id).map((o) => node.get("runtime", o)).filter((v) => typeof v === "string").sort();
  const done = dialer.connected && saw.length >= expected;
  if (!done && Date.now() - started < 30_000) return;
  clearInterval(timer);
  console.log(JSON.stringify({ name, ok: done, relay: dialer.peer, saw }));
  // Stay a little so that the others see this peer too, then leave.
  setTimeout(() => {
    dialer.close();
    void node.close({ leave: false }).then(() => exit(done ? 0 : 1));
  }, 1500);
}, 100);
