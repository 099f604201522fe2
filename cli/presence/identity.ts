/**
 * Who this tab is in the presence examples (plain and React): a user key, a name and a colour,
 * made once and kept in localStorage so a reload is the same user.
 *
 * @module
 */

import type { Me } from "./react-app.ts";

/** Hex, as `<input type="color">` wants it. */
export const PALETTE = ["#d1495b", "#00798c", "#edae49", "#30638e", "#6a4c93", "#2a9d8f", "#e76f51", "#3d5a80"];

/** The value kept under `key`, made (and kept) on first use. */
export function stored(key: string, make: () => string): string {
  let v = localStorage.getItem(key);
  if (!v) localStorage.setItem(key, (v = make()));
  return v;
}

/** This tab's user key and presence (name, colour). */
export function localIdentity(): { user: string; me: Me } {
  return {
    user: stored("gv-presence-user", () => Math.random().toString(36).slice(2, 10)),
    me: {
      name: stored("gv-presence-name", () => ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Ken", "Radia", "Leslie"][Math.floor(Math.random() * 8)]),
      color: stored("gv-presence-color", () => PALETTE[Math.floor(Math.random() * PALETTE.length)]),
    },
  };
}
