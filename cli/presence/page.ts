/**
 * The presence example pages served by `grapevine demo`: at `/presence` live avatars (one per user,
 * a badge per tab) and cursors, per document (`?doc=doc-N`, a list to switch), across every tab
 * that opens it (script `app.ts`); at
 * `/presence/react` the same written with `grapevine/react` (script `react-main.ts`).
 *
 * @module
 */

/** The page's head (styles shared by both pages) and its config. */
function head(config: { network: string; intervalMs: number }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>grapevine · presence</title>
<style>
  :root { font: 15px/1.4 system-ui, sans-serif; color: #1d1d1f; background: #fafaf7; }
  body, .app { margin: 0; height: 100vh; display: grid; grid-template-rows: auto 1fr auto; }
  body:has(#root) { display: block; }
  header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid #ddd; background: #fff; }
  header h1 { font-size: 1rem; margin: 0; }
  #avatars { display: flex; gap: .4rem; flex: 1; }
  .avatar { position: relative; width: 2.2rem; height: 2.2rem; border-radius: 50%; color: #fff; display: grid; place-items: center; font-weight: 600; box-shadow: 0 0 0 2px #fff, 0 0 0 3px #ccc; }
  .avatar.me { box-shadow: 0 0 0 2px #fff, 0 0 0 3px #333; }
  .avatar.bot { border-radius: .5rem; opacity: .85; }
  #docs { display: flex; gap: .25rem; }
  #docs button { font: inherit; font-size: .85rem; padding: .15rem .5rem; border: 1px solid #ccc; border-radius: .3rem; background: #fff; cursor: pointer; }
  #docs button[aria-pressed="true"] { background: #333; color: #fff; border-color: #333; }
  .avatar .tabs { position: absolute; right: -.3rem; bottom: -.3rem; background: #333; font-size: .65rem; border-radius: .6rem; padding: 0 .3rem; }
  #board { position: relative; overflow: hidden; cursor: crosshair; background-image: radial-gradient(#e4e4de 1px, transparent 1px); background-size: 24px 24px; }
  .cursor { position: absolute; pointer-events: none; transition: transform 60ms linear; will-change: transform; }
  .cursor svg { display: block; }
  .app .cursor span { left: 0; top: 0; }
  .cursor span { position: absolute; left: 14px; top: 16px; color: #fff; font-size: .75rem; padding: .05rem .35rem; border-radius: .3rem; white-space: nowrap; }
  footer { padding: .4rem 1rem; border-top: 1px solid #ddd; background: #fff; font-size: .8rem; color: #555; display: flex; gap: 1rem; }
  #log { flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  input { font: inherit; padding: .15rem .4rem; width: 8rem; }
</style>
<script id="config" type="application/json">${JSON.stringify(config).replace(/</g, "\\u003c")}</script>
</head>`;
}

/** The React page: the same example as {@link presenceHtml}, rendered by `react-app.ts`. */
export function reactPresenceHtml(config: { network: string; intervalMs: number }): string {
  return `${head(config)}
<body>
<div id="root"></div>
<script type="module" src="/presence/react.js"></script>
</body>
</html>`;
}

/** The page, with its config inlined. */
export function presenceHtml(config: { network: string; intervalMs: number }): string {
  return `${head(config)}
<body>
<header>
  <h1>presence</h1>
  <nav id="docs" aria-label="documents"></nav>
  <div id="avatars"></div>
  <label>name <input id="name" maxlength="20"></label>
  <label>colour <input id="color" type="color"></label>
</header>
<main id="board"></main>
<footer><span id="status">connecting…</span><span id="log"></span></footer>
<script type="module" src="/presence/app.js"></script>
</body>
</html>`;
}
