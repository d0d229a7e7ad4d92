// The public listeners. A reload keeps every listener whose address, port and kind are unchanged
// (so no connection is dropped and no accept queue is lost), opens new ones before the new
// generation goes live, and closes those no longer configured afterwards.
import net from 'node:net';
import type { ListenerPlan } from '../generation/spec.js';
import { NativeListener, type AcceptAddon } from './native-listener.js';
import { log } from '../log.js';

/** A listener is either a net.Server (hands over sockets) or a native accept loop (hands over fds). */
interface Open { plan: ListenerPlan; server: net.Server | null; native: NativeListener | null }

export type OnConnection = (plan: ListenerPlan, socket: net.Socket) => void;
export type OnAcceptedFd = (plan: ListenerPlan, fd: number, remoteAddress: string, remotePort: number, localAddress: string, localPort: number) => void;

const BACKLOG = 4096;

export class Listeners {
  private readonly open = new Map<string, Open>();

  /** With `accept` (the addon's acceptLoop), connections arrive as bare fds and no net.Socket is made. */
  constructor(private readonly onConnection: OnConnection, private readonly accept: { addon: AcceptAddon; onFd: OnAcceptedFd } | null = null) {}

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
    return [...this.open.values()].map(({ plan, server, native }) => {
      const bound = native !== null ? native.address() : server?.address() as net.AddressInfo | null;
      return { key: plan.key, kind: plan.kind, address: bound?.address ?? plan.address, port: bound?.port ?? plan.port };
    });
  }

  private async listen(plan: ListenerPlan): Promise<void> {
    if (this.accept !== null) {
      const { addon, onFd } = this.accept;
      const entry: Open = { plan, server: null, native: null };
      entry.native = await NativeListener.open(addon, { address: plan.address, port: plan.port, kind: plan.kind, backlog: BACKLOG },
        (fd, ra, rp, la, lp) => onFd(entry.plan, fd, ra, rp, la, lp),
        (err) => log.warn('accept paused after an error', { listener: plan.key, code: err.code }));
      this.open.set(plan.key, entry);
      return;
    }
    const entry: Open = { plan, server: net.createServer({ pauseOnConnect: true }), native: null };
    const server = entry.server!;
    server.on('connection', (socket) => this.onConnection(entry.plan, socket));
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new Error(`cannot listen on ${plan.address}:${plan.port} (${plan.kind === 'tcp' ? 'tcp edge' : plan.kind === 'tunnel' ? 'tunnel agents' : plan.kind === 'http' ? 'plain http' : 'tls/https edges'}): ${err.code ?? err.message}`));
      };
      server.once('error', onError);
      server.listen({ host: plan.address, port: plan.port, backlog: BACKLOG }, () => {
        server.removeListener('error', onError);
        server.on('error', () => { /* accept errors (EMFILE…) are transient; keep listening */ });
        this.open.set(plan.key, entry);
        resolve();
      });
    });
  }

  private closeOne(key: string): Promise<void> {
    const entry = this.open.get(key);
    this.open.delete(key);
    if (entry === undefined) return Promise.resolve();
    if (entry.native !== null) return entry.native.close();
    return new Promise((resolve) => entry.server!.close(() => resolve()));
  }
}
