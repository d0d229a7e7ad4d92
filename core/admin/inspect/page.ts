// The /inspect page: one self-contained HTML document (inline CSS and JS, nothing fetched but the
// WebSocket). Data from the feed is written with textContent only, never parsed as HTML: paths,
// hosts and user agents are chosen by whoever sends traffic through the edge. The script is pinned
// by its hash in the Content-Security-Policy, so nothing else can run on the page.
import { createHash } from 'node:crypto';

const STYLE = `
:root { color-scheme: light; --ok:#1a7f37; --warn:#9a6700; --bad:#cf222e; --line:#d0d7de; --muted:#57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
header { display: flex; gap: 16px; align-items: center; padding: 10px 16px; background: #24292f; color: #fff; }
header h1 { font-size: 16px; margin: 0; }
#state { padding: 2px 8px; border-radius: 10px; background: #6e7781; }
#state.live { background: var(--ok); }
#state.closed { background: var(--bad); }
main { display: grid; grid-template-columns: minmax(320px, 1fr) 2fr; gap: 12px; padding: 12px 16px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow: auto; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 13px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.path { max-width: 420px; overflow: hidden; text-overflow: ellipsis; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.s2 { color: var(--ok); } .s3 { color: #0969da; } .s4 { color: var(--warn); } .s5 { color: var(--bad); font-weight: 600; }
.breaker-closed { color: var(--ok); } .breaker-open { color: var(--bad); font-weight: 700; } .breaker-half_open { color: var(--warn); font-weight: 600; }
.bar { height: 14px; background: #eaeef2; border-radius: 3px; min-width: 160px; }
.bar > div { height: 100%; background: #0969da; border-radius: 3px; }
.muted { color: var(--muted); }
.legs-partial { color: var(--warn); font-weight: 600; } .no-agent { color: var(--bad); font-weight: 600; }
`;

const SCRIPT = `
(() => {
  const maxRows = Number(document.body.dataset.maxRows) || 200;
  const $ = (id) => document.getElementById(id);
  const cell = (tr, value, cls) => { const td = document.createElement('td'); td.textContent = value; if (cls) td.className = cls; tr.appendChild(td); return td; };
  const statusClass = (s) => s >= 100 && s < 600 ? 's' + Math.floor(s / 100) : '';
  let received = 0, skipped = 0;

  function addRows(rows) {
    const body = $('traffic');
    for (const r of rows) {
      const tr = document.createElement('tr');
      tr.dataset.kind = r.kind;
      cell(tr, (r.at || '').slice(11, 23));
      cell(tr, r.kind.toUpperCase());
      cell(tr, r.client_ip);
      cell(tr, r.edge + (r.route ? ' / ' + r.route : ''));
      cell(tr, r.method);
      cell(tr, r.host + r.path, 'path');
      cell(tr, r.kind === 'http' ? String(r.status) : '', 'num ' + statusClass(r.status));
      cell(tr, r.duration_ms === null ? '' : r.duration_ms + ' ms', 'num');
      cell(tr, r.bytes_in + ' / ' + r.bytes_out, 'num');
      cell(tr, r.breaker);
      body.insertBefore(tr, body.firstChild);
    }
    while (body.children.length > maxRows) body.removeChild(body.lastChild);
    received += rows.length;
  }

  function fill(id, items, render, empty) {
    const body = $(id);
    body.replaceChildren();
    for (const item of items) { const tr = document.createElement('tr'); render(tr, item); body.appendChild(tr); }
    if (items.length === 0) { const tr = document.createElement('tr'); cell(tr, empty || 'none', 'muted'); body.appendChild(tr); }
  }

  // Labels come from agents (and config): joined as text, never markup.
  const pairs = (labels) => Object.entries(labels || {}).map(([k, v]) => k + '=' + v).join(', ');

  function tunnels(t) {
    fill('tunnel-groups', t.groups, (tr, g) => {
      tr.dataset.group = g.backend;
      cell(tr, g.backend); cell(tr, pairs(g.labels));
      if (g.sessions === 0) cell(tr, 'no agent online', 'no-agent');
      else cell(tr, g.sessions + (g.sessions === 1 ? ' session' : ' sessions'), 'num');
    }, 'no tunnel_group backends');
    fill('tunnel-sessions', t.sessions, (tr, x) => {
      tr.dataset.session = x.id;
      cell(tr, x.id); cell(tr, pairs(x.labels));
      // a session is whole when every worker holds one of its legs
      cell(tr, x.legs.length + ' / ' + t.workers, 'num' + (x.legs.length < t.workers ? ' legs-partial' : ''));
      cell(tr, x.agent_version); cell(tr, x.ip); cell(tr, x.started_at); cell(tr, x.forwards_to);
      cell(tr, x.groups.length === 0 ? 'none' : x.groups.join(', '), x.groups.length === 0 ? 'muted' : '');
    }, 'no agent online');
  }

  function snapshot(s) {
    fill('routes', s.routes, (tr, r) => {
      tr.dataset.route = r.edge + '/' + r.route;
      cell(tr, r.edge); cell(tr, r.route); cell(tr, String(r.requests), 'num');
      for (const k of ['2xx', '3xx', '4xx', '5xx']) cell(tr, String(r.statuses[k] || 0), 'num s' + k[0]);
    });
    fill('breakers', s.breakers, (tr, b) => {
      tr.dataset.breaker = b.edge + '/' + b.route;
      cell(tr, b.edge); cell(tr, b.route); cell(tr, b.state, 'breaker-' + b.state); cell(tr, String(b.trips), 'num');
    });
    const busiest = Math.max(1, ...s.workers.map((w) => w.active));
    fill('workers', s.workers, (tr, w) => {
      tr.dataset.worker = String(w.worker);
      cell(tr, '#' + w.worker);
      const bar = document.createElement('div'); bar.className = 'bar';
      const fillDiv = document.createElement('div'); fillDiv.style.width = Math.round(100 * w.active / busiest) + '%';
      bar.appendChild(fillDiv); cell(tr, '').appendChild(bar);
      cell(tr, String(w.active), 'num'); cell(tr, String(w.handled), 'num');
    });
    tunnels(s.tunnels || { workers: 0, sessions: [], groups: [] });
    $('updated').textContent = 'snapshot ' + (s.at || '').slice(11, 19);
  }

  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/inspect/live');
    ws.onopen = () => { $('state').textContent = 'live'; $('state').className = 'live'; document.body.dataset.state = 'live'; };
    ws.onclose = () => {
      $('state').textContent = 'disconnected, retrying'; $('state').className = 'closed'; document.body.dataset.state = 'closed';
      setTimeout(connect, 2000);
    };
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === 'events') { addRows(msg.rows); skipped += msg.skipped; }
      else if (msg.type === 'snapshot') snapshot(msg);
      else if (msg.type === 'error') $('updated').textContent = msg.msg;
      $('counts').textContent = received + ' shown live' + (skipped ? ', ' + skipped + ' over the rate cap' : '');
    };
  }
  connect();
})();
`;

const BODY = `
<header><h1>edgeplane inspect</h1><span id="state">connecting</span><span id="counts"></span><span id="updated" class="muted"></span></header>
<main>
<section><h2>Workers</h2><table><thead><tr><th>worker</th><th>load</th><th class="num">active</th><th class="num">handled</th></tr></thead><tbody id="workers"></tbody></table></section>
<section><h2>Circuit breakers</h2><table><thead><tr><th>edge</th><th>route</th><th>state</th><th class="num">trips</th></tr></thead><tbody id="breakers"></tbody></table></section>
<section class="wide"><h2>Routes</h2><table><thead><tr><th>edge</th><th>route</th><th class="num">requests</th><th class="num">2xx</th><th class="num">3xx</th><th class="num">4xx</th><th class="num">5xx</th></tr></thead><tbody id="routes"></tbody></table></section>
<section class="wide"><h2>Tunnel groups</h2><table><thead><tr><th>backend</th><th>labels</th><th>agent sessions</th></tr></thead><tbody id="tunnel-groups"></tbody></table></section>
<section class="wide"><h2>Tunnel sessions</h2><table><thead><tr><th>session</th><th>labels</th><th class="num">legs up</th><th>agent</th><th>ip</th><th>started</th><th>forwards to</th><th>selected by</th></tr></thead><tbody id="tunnel-sessions"></tbody></table></section>
<section class="wide"><h2>Live requests and connections (newest first)</h2><table><thead><tr><th>time</th><th>kind</th><th>client</th><th>edge / route</th><th>method</th><th>host + path</th><th class="num">status</th><th class="num">duration</th><th class="num">bytes in / out</th><th>breaker</th></tr></thead><tbody id="traffic"></tbody></table></section>
</main>`;

const scriptHash = createHash('sha256').update(SCRIPT).digest('base64');

export const PAGE_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  `script-src 'sha256-${scriptHash}'`,
  "connect-src 'self'",
  "img-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function inspectPage(maxRows: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgeplane inspect</title><style>${STYLE}</style></head>
<body data-max-rows="${Math.floor(maxRows)}" data-state="connecting">${BODY}
<script>${SCRIPT}</script>
</body></html>`;
}
