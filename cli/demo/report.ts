/**
 * Reading a browser tab's JSON report (the demo's and the transaction demo's dashboards take
 * them): the body read up to a byte bound — refused by its declared length before reading, and cut
 * off as soon as more arrives than the bound (a body without a length, or one that lies) — then
 * parsed.
 *
 * @module
 */

/** The report as an object, or what is wrong with it. */
export async function readReport(request: Request, bytesMax: number): Promise<Record<string, unknown> | string> {
  if (Number(request.headers.get("content-length") ?? 0) > bytesMax) return "report too large";
  let text: string | null;
  try {
    text = await readBounded(request, bytesMax);
  } catch {
    return "unreadable report";
  }
  if (text === null) return "report too large";
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return "report is not JSON";
  }
  return r !== null && typeof r === "object" && !Array.isArray(r) ? (r as Record<string, unknown>) : "report must be an object";
}

/** The body as UTF-8 text, or null once it passes `bytesMax` bytes (the rest is not read). */
async function readBounded(request: Request, bytesMax: number): Promise<string | null> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    if (bytes > bytesMax) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}
