import { runPinned, type CpuList } from '../processes.js';

/** N sequential 64 MiB GET /big downloads on one keep-alive connection. */
export interface BulkResult { downloads: number; bytes: number; secs: number; errors: number }

// curl, as peers-bench did: one connection, HTTP/1.1, body to /dev/null, per-transfer size and time.
export async function runBulk(cpu: CpuList, port: number, tls: boolean, n: number, expectBytes: number, timeoutS: number): Promise<BulkResult> {
  const url = tls ? `https://app1.example.test:${port}/big` : `http://127.0.0.1:${port}/big`;
  const args = ['-s', '--http1.1', '-w', '%{size_download} %{time_total} %{http_code}\\n'];
  if (tls) args.push('-k', '--tlsv1.3', '--resolve', `app1.example.test:${port}:127.0.0.1`);
  for (let i = 0; i < n; i++) args.push('-o', '/dev/null', url);
  const out = await runPinned(cpu, 'curl', args, timeoutS * 1000);
  let bytes = 0;
  let secs = 0;
  let downloads = 0;
  let errors = 0;
  for (const line of out.stdout.trim().split('\n').filter(Boolean)) {
    const [b, s, code] = line.split(' ');
    downloads++;
    bytes += Number(b);
    secs += Number(s);
    if (Number(b) !== expectBytes || code !== '200') errors++;
  }
  errors += n - downloads;
  return { downloads, bytes, secs, errors };
}
