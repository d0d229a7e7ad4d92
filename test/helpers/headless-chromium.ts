// Debian's chromium, headless, driven over the DevTools protocol (a WebSocket, with `ws`): open a
// page, evaluate script in it, dump its DOM, take a PNG screenshot. Killed in the test's teardown.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

interface Teardown { teardown(fn: () => unknown): void }

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM);
}

export interface BrowserPage {
  navigate(url: string): Promise<void>;
  evaluate<T>(expression: string): Promise<T>;
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  dom(): Promise<string>;
  screenshot(): Promise<Buffer>;
  /** Console errors, uncaught exceptions and CSP violations the page reported. */
  problems: string[];
}

interface Reply { id?: number; method?: string; params?: Record<string, any>; result?: Record<string, any>; error?: { message: string }; sessionId?: string }

export async function openHeadlessPage(t: Teardown, viewport = { width: 1280, height: 900 }): Promise<BrowserPage> {
  const profile = mkdtempSync(join(tmpdir(), 'edgeplane-chromium-'));
  const proc = spawn(CHROMIUM, [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage', `--user-data-dir=${profile}`, '--remote-debugging-port=0',
    `--window-size=${viewport.width},${viewport.height}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  t.teardown(async () => {
    // chromium's zygote, renderer and crashpad children live in its process group: kill them all, or
    // they keep writing into the profile (rm fails) and hold the stderr pipe open (the test never ends)
    try { process.kill(-proc.pid!, 'SIGKILL'); } catch { /* already gone */ }
    if (proc.exitCode === null && proc.signalCode === null) await exited;
    proc.stderr?.destroy();
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });

  const endpoint = await new Promise<string>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`chromium did not start in 30 s:\n${stderr}`)), 30_000);
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const hit = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (hit) { clearTimeout(timer); resolve(hit[1]); }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited (${code}):\n${stderr}`)); });
  });

  const socket = new WebSocket(endpoint, { perMessageDeflate: false });
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  t.teardown(() => socket.close());
  let nextId = 1;
  const waiting = new Map<number, { resolve(r: Record<string, any>): void; reject(e: Error): void }>();
  const problems: string[] = [];
  socket.on('message', (data) => {
    const msg = JSON.parse(String(data)) as Reply;
    if (msg.id !== undefined) {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.error) w?.reject(new Error(msg.error.message)); else w?.resolve(msg.result ?? {});
    } else if (msg.method === 'Runtime.exceptionThrown') {
      problems.push(`exception: ${msg.params?.exceptionDetails?.exception?.description ?? msg.params?.exceptionDetails?.text}`);
    } else if (msg.method === 'Log.entryAdded' && msg.params?.entry?.level === 'error') {
      problems.push(`log: ${msg.params.entry.text}`);
    } else if (msg.method === 'Runtime.consoleAPICalled' && msg.params?.type === 'error') {
      problems.push(`console: ${JSON.stringify(msg.params.args)}`);
    }
  });
  const call = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, any>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  const { targetId } = await call('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await call('Target.attachToTarget', { targetId, flatten: true });
  const page = (method: string, params: Record<string, unknown> = {}) => call(method, params, sessionId);
  await page('Page.enable');
  await page('Runtime.enable');
  await page('Log.enable');
  await page('Emulation.setDeviceMetricsOverride', { ...viewport, deviceScaleFactor: 1, mobile: false });

  const evaluate = async <T>(expression: string): Promise<T> => {
    const r = await page('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`page script failed: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  };
  return {
    problems,
    async navigate(url) {
      const r = await page('Page.navigate', { url });
      if (r.errorText) throw new Error(`navigation to ${url} failed: ${r.errorText}`);
    },
    evaluate,
    async waitFor(expression, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      // The document may still be loading: a throwing expression counts as not yet.
      while (!(await evaluate<boolean>(`(() => { try { return Boolean(${expression}); } catch { return false; } })()`))) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${expression} in the page`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    dom: () => evaluate<string>('document.documentElement.outerHTML'),
    async screenshot() {
      const r = await page('Page.captureScreenshot', { format: 'png' });
      return Buffer.from(r.data as string, 'base64');
    },
  };
}
