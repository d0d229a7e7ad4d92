// The public listeners. A reload keeps every listener whose address, port and kind are unchanged
// (so no connection is dropped and no accept queue is lost), opens new ones before the new
// generation goes live, and closes those no longer configured afterwards.
import net from 'node:net';
import type { ListenerPlan } from '../generation/spec.js';

interface Open { plan: ListenerPlan; server: net.Server }

export type OnConnection = (plan: ListenerPlan, socket: net.Socket) => void;

const BACKLOG = 4096;

export class Listeners {
  private readonly open = new Map<string, Open>();

  constructor(private readonly onConnection: OnConnection) {}

  /** Opens listeners in `plans` not yet open. On failure, closes what it opened and throws. */
  async openNew(plans: readonly ListenerPlan[]): Promise<void> {
    const opened: string[] = [];
    try {
      for (const plan of plans) {
        if (this.open.has(plan.key)) continue;
        await this.listen(plan);
        opened.push(plan.key);
      }
    } catch (err) {
      await Promise.all(opened.map((key) => this.closeOne(key)));
      throw err;
    }
  }

  /** Points kept listeners at the new generation's plans and closes the ones not in `plans`. */
  async retarget(plans: readonly ListenerPlan[]): Promise<void> {
    const wanted = new Map(plans.map((p) => [p.key, p]));
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.open) {
      const plan = wanted.get(key);
      if (plan === undefined) closing.push(this.closeOne(key));
      else entry.plan = plan;
    }
    await Promise.all(closing);
  }

  /** Stops accepting everywhere (open connections are untouched). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((key) => this.closeOne(key)));
  }

  addresses(): Array<{ key: string; kind: string; address: string; port: number }> {
    return [...this.open.values()].map(({ plan, server }) => {
      const bound = server.address() as net.AddressInfo | null;
      return { key: plan.key, kind: plan.kind, address: bound?.address ?? plan.address, port: bound?.port ?? plan.port };
    });
  }

  private listen(plan: ListenerPlan): Promise<void> {
    const entry: Open = { plan, server: net.createServer({ pauseOnConnect: true }) };
    entry.server.on('connection', (socket) => this.onConnection(entry.plan, socket));
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new Error(`cannot listen on ${plan.address}:${plan.port} (${plan.kind === 'tcp' ? 'tcp edge' : 'tls/https edges'}): ${err.code ?? err.message}`));
      };
      entry.server.once('error', onError);
      entry.server.listen({ host: plan.address, port: plan.port, backlog: BACKLOG }, () => {
        entry.server.removeListener('error', onError);
        entry.server.on('error', () => { /* accept errors (EMFILE…) are transient; keep listening */ });
        this.open.set(plan.key, entry);
        resolve();
      });
    });
  }

  private closeOne(key: string): Promise<void> {
    const entry = this.open.get(key);
    this.open.delete(key);
    if (entry === undefined) return Promise.resolve();
    return new Promise((resolve) => entry.server.close(() => resolve()));
  }
}
