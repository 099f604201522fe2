/**
 * The interop peer under Node 20, which has no global `WebSocket`: it dials with `ws`
 * (`nodeWebSocket`). run.mjs bundles this file with esbuild and runs `node bundle.mjs '<config JSON>'`.
 */
import { nodeWebSocket } from "../../src/transport/ws-node.ts";
import { failed, type PeerConfig, runPeer } from "./peer.ts";

const config = JSON.parse(process.argv[2]) as PeerConfig;
await runPeer(config, `node ${process.version}`, nodeWebSocket).catch((e) => failed(config, e));
process.exit(0);
