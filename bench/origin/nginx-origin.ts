import { SMALL_BODY, type Fixtures } from '../fixtures.js';
import { originHttpPort, originTlsPorts } from '../ports.js';

// Origin config after /work/shared/peers-bench/scripts/configs.sh: 1 worker, TLS 1.3 only,
// no session resumption (every new connection is a full handshake), /big served with sendfile,
// /json = the ~100 KB JSON of the gzip scenario (served uncompressed: the proxies compress).
export function nginxOriginConfig(f: Fixtures, tmpDir: string, asRoot: boolean): string {
  return `worker_processes 1;
${asRoot ? 'user root;' : ''}
pid ${tmpDir}/origin.pid;
error_log ${tmpDir}/origin.err warn;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 10000000; keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path ${tmpDir}/ob; proxy_temp_path ${tmpDir}/op; fastcgi_temp_path ${tmpDir}/of;
  uwsgi_temp_path ${tmpDir}/ou; scgi_temp_path ${tmpDir}/os;
  server {
    listen 127.0.0.1:${originHttpPort()} backlog=4096;
${originTlsPorts().map((p) => `    listen 127.0.0.1:${p} ssl backlog=4096;`).join('\n')}
    ssl_certificate ${f.cert}; ssl_certificate_key ${f.key};
    ssl_protocols TLSv1.3;
    ssl_session_tickets off; ssl_session_cache off;
    root ${f.www};
    location = /small { default_type application/json; return 200 '${SMALL_BODY}'; }
    location = /big   { try_files /big.bin =404; }
    location = /json  { types { application/json json; } try_files /data.json =404; }
  }
}
`;
}
