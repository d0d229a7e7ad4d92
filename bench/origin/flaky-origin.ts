// Upstream of the circuit-breaker scenario: answers every request with 200 (the ~100 B /small body)
// or, once told to fail, with 500, and counts every request it receives, so the runner can tell how
// much traffic a breaker let through. Controlled on a second port that no proxy points at:
//   POST /mode/ok | POST /mode/fail   → switch;   GET /stats → {"mode","received","ok","failed"}
//   POST /reset                        → counters to 0, mode ok
// Usage: node dist/bench/origin/flaky-origin.js [port offset]
import http from 'node:http';
import { SMALL_BODY } from '../fixtures.js';
import { flakyControlPort, flakyHttpPort, setPortOffset } from '../ports.js';

setPortOffset(Number(process.argv[2] ?? 0));

const FAIL_BODY = '{"ok":false,"error":"the bench told this origin to fail"}';
let failing = false;
const counts = { received: 0, ok: 0, failed: 0 };

const traffic = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
  counts.received++;
  req.resume();
  const body = failing ? FAIL_BODY : SMALL_BODY;
  if (failing) counts.failed++; else counts.ok++;
  res.writeHead(failing ? 500 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
traffic.listen(flakyHttpPort(), '127.0.0.1');

const control = http.createServer((req, res) => {
  req.resume();
  if (req.method === 'POST' && req.url === '/mode/fail') failing = true;
  else if (req.method === 'POST' && req.url === '/mode/ok') failing = false;
  else if (req.method === 'POST' && req.url === '/reset') { failing = false; counts.received = counts.ok = counts.failed = 0; }
  else if (!(req.method === 'GET' && req.url === '/stats')) { res.writeHead(404).end(); return; }
  const body = JSON.stringify({ mode: failing ? 'fail' : 'ok', ...counts });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
control.listen(flakyControlPort(), '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
