/**
 * `bench size` entry "presence+react": presence plus `grapevine/react`'s hooks. React itself is left
 * out (external): it is the app's own dependency, and this measures what the hooks add.
 *
 * @module
 */
export { start } from "./presence.ts";
export { useBroadcast, useOthers, usePresence, useRoom, useSelf, useUsers } from "../../src/react/mod.ts";
