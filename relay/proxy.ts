/**
 * The client's address behind a reverse proxy. Without a trusted proxy the relay uses the TCP
 * peer's address; behind one that address is the proxy's, shared by every client, so the per-address
 * limits would treat them all as one. With `trustProxy` set to the header the proxy writes, the
 * address comes from that header instead — and only from it: a header a client can send through a
 * proxy that does not overwrite it would let the client pick its own address, so the operator names
 * the one header their proxy sets.
 *
 * - `cf-connecting-ip`, `fly-client-ip`: one address, set by Cloudflare's and Fly's edges;
 * - `x-forwarded-for`: the last entry, the one the nearest proxy appended;
 * - `forwarded` (RFC 7239): the `for=` of the last element, likewise.
 *
 * A header that is missing or does not hold an address leaves the TCP peer's address in force.
 *
 * @module
 */

/** Headers a trusted proxy may carry the client's address in. */
export const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "cf-connecting-ip", "fly-client-ip"] as const;

/** One of {@link PROXY_HEADERS}. */
export type ProxyHeader = (typeof PROXY_HEADERS)[number];

/** Longest address text accepted from a header (an IPv6 address with a zone fits). */
const ADDRESS_CHARS_MAX = 64;
/** Longest header value looked at; a longer one is ignored rather than split. */
const HEADER_CHARS_MAX = 4096;

/** What {@link clientAddress} reads headers through: `Headers`, or an adapter's own lookup. */
export interface HeaderLookup {
  get(name: string): string | null;
}

/**
 * The client's address: from `trust`'s header when set and well-formed, else `socketAddress`.
 *
 * @example
 * ```ts
 * const headers = new Headers({ "x-forwarded-for": "198.51.100.7, 203.0.113.9" });
 * clientAddress(headers, "10.0.0.2", "x-forwarded-for"); // "203.0.113.9"
 * clientAddress(headers, "10.0.0.2", null);              // "10.0.0.2"
 * ```
 */
export function clientAddress(headers: HeaderLookup, socketAddress: string, trust: ProxyHeader | null): string {
  if (trust === null) return socketAddress;
  const value = headers.get(trust);
  if (value === null || value.length > HEADER_CHARS_MAX) return socketAddress;
  let candidate: string | undefined;
  if (trust === "x-forwarded-for") candidate = value.slice(value.lastIndexOf(",") + 1);
  else if (trust === "forwarded") candidate = forwardedFor(value);
  else candidate = value;
  const address = candidate === undefined ? null : normalise(candidate);
  return address ?? socketAddress;
}

/** The `for=` parameter of the last element of a `Forwarded` header, unquoted. */
function forwardedFor(value: string): string | undefined {
  const last = value.slice(value.lastIndexOf(",") + 1);
  for (const pair of last.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== "for") continue;
    let v = pair.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
    return v;
  }
  return undefined;
}

/**
 * An address as the limits key it: brackets and a port stripped (`[2001:db8::1]:443`,
 * `198.51.100.7:8080`); null unless what remains looks like an IPv4 or IPv6 address.
 */
function normalise(text: string): string | null {
  let a = text.trim();
  if (a.length === 0 || a.length > ADDRESS_CHARS_MAX) return null;
  if (a.startsWith("[")) {
    const end = a.indexOf("]");
    if (end === -1) return null;
    a = a.slice(1, end);
  } else if (/^[0-9.]+:\d+$/.test(a)) a = a.slice(0, a.indexOf(":"));
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) return a;
  if (/^[0-9a-fA-F:.]+(%[0-9A-Za-z._-]+)?$/.test(a) && a.includes(":")) return a.toLowerCase();
  return null;
}
