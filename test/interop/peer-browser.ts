/**
 * The interop peer in a browser page, with the page's `WebSocket` and WebCrypto. run.mjs bundles
 * it with esbuild and serves it; the page's query string carries the config (`?config=<JSON>`).
 */
import { failed, type PeerConfig, runPeer } from "./peer.ts";

const config = JSON.parse(new URLSearchParams(location.search).get("config")!) as PeerConfig;
const version = `chromium ${/Chrome\/([\d.]+)/.exec(navigator.userAgent)?.[1] ?? navigator.userAgent}`;
void runPeer(config, version).catch((e) => failed(config, e));
