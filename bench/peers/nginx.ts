import { originHttpPort, originTlsPorts, proxyPorts, SNI_NAMES } from '../ports.js';

export const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

// Stream proxy after /work/shared/peers-bench/scripts/configs.sh: 1 worker,
// ssl_preread + map on the SNI for passthrough, plain proxy_pass for TCP.
export function nginxProxyConfig(tmpDir: string, asRoot: boolean): string {
  const { tls, tcp } = proxyPorts('nginx');
  return `worker_processes 1;
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
