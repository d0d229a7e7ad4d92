// A loopback TCP proxy that hands the client's first flight (the ClientHello) to the target one
// byte per write, with a pause between bytes: a slow but legitimate client for the TLS peek.
import net from 'node:net';

interface Teardown { teardown(fn: () => unknown): void }

export async function tricklingProxy(t: Teardown, targetPort: number, delayMs: number): Promise<{ port: number; trickled(): number }> {
  let trickled = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const target = net.connect({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, target]) { open.add(s); s.once('close', () => open.delete(s)); }
    client.on('error', () => target.destroy());
    target.on('error', () => client.destroy());
    target.pipe(client);
    client.once('data', (first: Buffer) => {
      client.pause();
      let i = 0;
      const step = (): void => {
        if (target.destroyed) return;
        if (i >= first.length) { client.pipe(target); client.resume(); return; }
        target.write(first.subarray(i, i + 1));
        i++;
        trickled++;
        setTimeout(step, delayMs);
      };
      step();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { for (const s of open) s.destroy(); server.close(() => resolve()); }));
  return { port: (server.address() as net.AddressInfo).port, trickled: () => trickled };
}
