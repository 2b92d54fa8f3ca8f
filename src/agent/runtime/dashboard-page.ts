// /dashboard: one static page that shows the runtime endpoints live, for an
// operator who reached the agent with `kubectl port-forward`. Everything is
// inline and allowed by hash in the Content-Security-Policy (no other
// origin, no eval, no inline handlers), and every text from the agent is
// put in with textContent, never parsed as HTML.
import { createHash } from 'node:crypto';

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{background:#1d2430;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px;padding:12px}
section{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px 12px;overflow:auto;max-height:480px}
h2{font-size:15px;margin:4px 0 8px}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:2px 6px;border-bottom:1px solid #eef0f3;vertical-align:top;word-break:break-word}
th{font-weight:600;color:#4a5568;width:40%}
ol{list-style:none;margin:0;padding:0;font:12px/1.35 ui-monospace,monospace}
li{border-bottom:1px solid #eef0f3;padding:2px 0;word-break:break-word}
.ok{color:#17803d}.failed,.error,.fatal{color:#b42318}.skipped,.warn{color:#9a6700}
button{font:inherit;padding:2px 10px}
#connectivity td:nth-child(2),#connectivity td:nth-child(3){white-space:nowrap}
`;

const SCRIPT = `
'use strict';
const byId = (id) => document.getElementById(id);
const show = (value) => (value === null || value === undefined ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value));
function cell(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = show(value);
  if (className) element.className = className;
  return element;
}
function pairs(id, object, prefix) {
  const body = byId(id);
  if (!prefix) body.replaceChildren();
  for (const [key, value] of Object.entries(object)) {
    const name = prefix ? prefix + '.' + key : key;
    if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) { pairs(id, value, name); continue; }
    const row = document.createElement('tr');
    row.append(cell('th', name), cell('td', value));
    body.append(row);
  }
}
async function getJson(path) {
  const response = await fetch(path, { cache: 'no-store' });
  return response.json();
}
async function refresh(id, path) {
  try { pairs(id, await getJson(path)); byId('problem').textContent = ''; }
  catch (error) { byId('problem').textContent = 'cannot read ' + path + ': ' + error.message; }
}
async function connectivity() {
  byId('check').disabled = true;
  try {
    const report = await getJson('/api/status/connectivity');
    byId('connectivity-summary').textContent = (report.ok ? 'ok' : 'FAILED') + ' at ' + report.checkedAt + ' (' + report.hub.host + ':' + report.hub.port + ')';
    byId('connectivity-summary').className = report.ok ? 'ok' : 'failed';
    const body = byId('connectivity');
    body.replaceChildren();
    for (const step of report.steps) {
      const row = document.createElement('tr');
      row.append(cell('th', step.step), cell('td', step.status, step.status), cell('td', step.ms + ' ms'), cell('td', step.error || step.detail));
      body.append(row);
    }
  } catch (error) { byId('connectivity-summary').textContent = 'check failed: ' + error.message; }
  byId('check').disabled = false;
}
function prepend(id, element, limit) {
  const list = byId(id);
  list.prepend(element);
  while (list.children.length > limit) list.lastElementChild.remove();
}
function follow(path, names, render, id, limit) {
  const source = new EventSource(path);
  for (const name of names) source.addEventListener(name, (message) => { prepend(id, render(name, message.data), limit); });
  source.onerror = () => { byId(id + '-state').textContent = 'reconnecting'; };
  source.onopen = () => { byId(id + '-state').textContent = 'live'; };
}
function eventItem(name, data) {
  let at = '';
  let shown = data;
  try { const event = JSON.parse(data); at = event.at; shown = JSON.stringify(event.data); } catch { /* shown raw */ }
  return cell('li', at + ' ' + name + ' ' + shown);
}
function logItem(name, data) {
  let line = data;
  let level = '';
  try {
    const parsed = JSON.parse(data);
    level = String(parsed.level);
    const { time, level: _level, msg, component, name: _name, ...rest } = parsed;
    line = time + ' ' + level + ' ' + msg + (Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : '');
  } catch { /* shown raw */ }
  return cell('li', line, level);
}
byId('check').addEventListener('click', connectivity);
const poll = () => { refresh('health', '/api/health/detailed'); refresh('runtime', '/api/metrics/runtime'); };
refresh('features', '/api/status/features');
refresh('version', '/version');
poll();
setInterval(poll, 5000);
connectivity();
follow('/api/realtime/events', ['link', 'leader', 'sweep', 'addon'], eventItem, 'events', 100);
follow('/api/realtime/logs', ['log'], logItem, 'logs', 200);
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** The page's Content-Security-Policy: its own origin only, and of inline code only the page's own script and style. */
export const DASHBOARD_CSP = [
  "default-src 'self'", `script-src ${hash(SCRIPT)}`, `style-src ${hash(STYLE)}`, "img-src 'self' data:",
  "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** The page's HTML. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Uplink agent</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header><h1>Uplink agent</h1><span id="problem" role="status"></span></header>
<main>
<section aria-labelledby="h-health"><h2 id="h-health">Health</h2><table><tbody id="health"></tbody></table></section>
<section aria-labelledby="h-connectivity"><h2 id="h-connectivity">Connectivity</h2>
<p><button id="check" type="button">Check again</button> <span id="connectivity-summary"></span></p>
<table><tbody id="connectivity"></tbody></table></section>
<section aria-labelledby="h-events"><h2 id="h-events">Events <small id="events-state">connecting</small></h2><ol id="events"></ol></section>
<section aria-labelledby="h-logs"><h2 id="h-logs">Logs <small id="logs-state">connecting</small></h2><ol id="logs"></ol></section>
<section aria-labelledby="h-runtime"><h2 id="h-runtime">Runtime</h2><table><tbody id="runtime"></tbody></table></section>
<section aria-labelledby="h-features"><h2 id="h-features">Features</h2><table><tbody id="features"></tbody></table>
<h2>Version</h2><table><tbody id="version"></tbody></table></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
