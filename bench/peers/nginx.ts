import type { CertFiles } from '../fixtures.js';
import { proxyWorkers } from './workers.js';
import { httpProxyPorts, originHttpPort, originTlsPorts, proxyPorts, SNI_NAMES } from '../ports.js';

export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

// Stream proxy after /work/shared/peers-bench/scripts/configs.sh: 1 worker (proxyWorkers()),
// ssl_preread + map on the SNI for passthrough, plain proxy_pass for TCP.
export function nginxProxyConfig(tmpDir: string, asRoot: boolean): string {
  const { tls, tcp } = proxyPorts('nginx');
  return `worker_processes ${proxyWorkers()};
${asRoot ? 'user root;' : ''}
pid ${tmpDir}/nginx-peer.pid;
error_log ${tmpDir}/nginx-peer.err warn;
load_module ${NGINX_STREAM_MODULE};
events { worker_connections 8192; multi_accept on; }
stream {
  map $ssl_preread_server_name $sni_backend {
${SNI_NAMES.map((n, i) => `    ${n} 127.0.0.1:${originTlsPorts()[i]};`).join('\n')}
    default 127.0.0.1:${originTlsPorts()[0]};
  }
  server { listen 127.0.0.1:${tls} backlog=4096; ssl_preread on; proxy_pass $sni_backend; }
  server { listen 127.0.0.1:${tcp} backlog=4096; proxy_pass 127.0.0.1:${originHttpPort()}; }
}
`;
}

// HTTP reverse proxy after peers-bench's configs.sh: 1 worker, upstream keep-alive pool of 128,
// HTTP/1.1 upstream with Connection cleared, Host passed through. `http` job: cleartext (S1) and TLS
// 1.3 terminated with resumption off (S2a/S2b); `gzip` job: gzip at the default level 1 (S4).
export function nginxHttpConfig(job: 'http' | 'gzip', tmpDir: string, asRoot: boolean, certs: CertFiles): string {
  const p = httpProxyPorts('nginx');
  const servers = job === 'http'
    ? `  server { listen 127.0.0.1:${p.http} backlog=4096; location / { proxy_pass http://origin; } }
  server {
    listen 127.0.0.1:${p.https} ssl backlog=4096;
    ssl_certificate ${certs.cert}; ssl_certificate_key ${certs.key}; ssl_protocols TLSv1.3;
    ssl_session_tickets off; ssl_session_cache off;
    location / { proxy_pass http://origin; }
  }`
    : `  server {
    listen 127.0.0.1:${p.gzip} backlog=4096;
    gzip on; gzip_types application/json; gzip_proxied any;
    location / { proxy_pass http://origin; }
  }`;
  return `worker_processes ${proxyWorkers()};
${asRoot ? 'user root;' : ''}
pid ${tmpDir}/nginx-peer-${job}.pid;
error_log ${tmpDir}/nginx-peer-${job}.err warn;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  keepalive_requests 10000000; keepalive_timeout 120s;
  client_body_temp_path ${tmpDir}/nb; proxy_temp_path ${tmpDir}/np; fastcgi_temp_path ${tmpDir}/nf;
  uwsgi_temp_path ${tmpDir}/nu; scgi_temp_path ${tmpDir}/ns;
  upstream origin { server 127.0.0.1:${originHttpPort()}; keepalive 128; keepalive_requests 10000000; }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
${servers}
}
`;
}
