// The verification pool: a piscina pool per worker thread that checks signatures off the worker's
// event loop. An HMAC over 1 MB costs ~0.7 ms (SHA-512: 3 ms) and an ECDSA verify ~0.15 ms of CPU; done
// inline, every other request of the worker waits that long. bench/webhook-verify.ts measures both ways.
// The body is copied into a buffer that is moved to the pool thread (the original stays buffered for
// the upstream); the pool thread builds the same verifier from the provider id and secret.
import { Piscina } from 'piscina';
import type { Verdict, WebhookRequest } from './types.js';

export interface OffloadTask {
  provider: string;
  secret: string;
  request: Omit<WebhookRequest, 'body'>;
  body: ArrayBuffer;
}

const TASK_FILE = new URL('./offload-task.js', import.meta.url).href;
const IDLE_TIMEOUT_MS = 30_000;

export class VerificationPool {
  #pool: Piscina | null = null;
  #retired = false;

  constructor(private readonly threads: number) {}

  /** Checks `request` with `provider`'s verifier in a pool thread. */
  async verify(provider: string, secret: string, request: WebhookRequest): Promise<Verdict> {
    const body = new Uint8Array(request.body.byteLength);
    body.set(request.body);
    const { body: _kept, ...facts } = request;
    const task: OffloadTask = { provider, secret, request: facts, body: body.buffer };
    return (await this.#ensure().run(task, { transferList: [body.buffer] })) as Verdict;
  }

  /** Lets the threads end once their queue is empty (a newer context replaced this one). */
  retireWhenIdle(): void {
    this.#retired = true;
    const pool = this.#pool;
    if (pool === null) return;
    if (pool.queueSize === 0 && pool.utilization === 0) { this.#pool = null; void pool.close(); return; }
    pool.once('drain', () => { if (this.#pool === pool) this.#pool = null; void pool.close(); });
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool !== null) await pool.close();
  }

  #ensure(): Piscina {
    // a retired pool still serves routes of the generation that holds it, on a fresh pool if need be
    if (this.#pool === null) {
      this.#pool = new Piscina({ filename: TASK_FILE, minThreads: 0, maxThreads: this.threads, idleTimeout: IDLE_TIMEOUT_MS });
      if (this.#retired) this.#pool.once('drain', () => this.retireWhenIdle());
    }
    return this.#pool;
  }
}
