-- wrk script (copied from peers-bench's scripts/report.lua, output line renamed LOADJSON): prints one
-- machine-readable line at the end (latency in microseconds). If WRK_CONNECT_PORT is set, wrk
-- connects to 127.0.0.1:WRK_CONNECT_PORT whatever the URL host, so the URL host can be an SNI name
-- (https://app1.example.test:1/) that is not in DNS.
local cport = os.getenv("WRK_CONNECT_PORT")
if cport then
  wrk.resolve = function(host, service)
    wrk.addrs = wrk.lookup("127.0.0.1", cport)
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOADJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.mean, latency.max))
end
