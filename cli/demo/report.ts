/**
 * Reading a browser tab's JSON report (the demo's and the transaction demo's dashboards take
 * them): the body's size bounded before and after it is read, then parsed.
 *
 * @module
 */

/** The report as an object, or what is wrong with it. */
export async function readReport(request: Request, bytesMax: number): Promise<Record<string, unknown> | string> {
  if (Number(request.headers.get("content-length") ?? 0) > bytesMax) return "report too large";
  let text: string;
  try {
    text = await request.text();
  } catch {
    return "unreadable report";
  }
  if (text.length > bytesMax) return "report too large";
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return "report is not JSON";
  }
  return r !== null && typeof r === "object" && !Array.isArray(r) ? (r as Record<string, unknown>) : "report must be an object";
}
