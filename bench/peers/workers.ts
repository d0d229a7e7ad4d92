// How many worker processes/threads every proxy runs in this bench process (1 unless the scaling
// run asks for more): nginx worker_processes, haproxy nbthread, edgeplane workers, caddy GOMAXPROCS.
// A module setting like the port offset, so the config generators need no extra parameter.
let workers = 1;

export function setProxyWorkers(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`proxy workers must be a positive integer, got ${n}`);
  workers = n;
}

export function proxyWorkers(): number { return workers; }
