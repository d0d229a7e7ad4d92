import { flakyHttpPort, httpProxyPorts, originHttpPort, originTlsPorts, proxyPorts, SNI_NAMES } from '../ports.js';
import { proxyWorkers } from './workers.js';
import type { CertFiles } from '../fixtures.js';

// mode tcp, 1 thread, after /work/shared/peers-bench/scripts/configs.sh: wait for the
// ClientHello, route on req.ssl_sni; plain TCP forward on the second port.
export function haproxyConfig(): string {
  const { tls, tcp } = proxyPorts('haproxy');
  const backends = SNI_NAMES.map((_n, i) => `backend be_app${i + 1}
  mode tcp
  server t${i + 1} 127.0.0.1:${originTlsPorts()[i]}`).join('\n');
  return `global
  nbthread ${proxyWorkers()}
  maxconn 4000
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  maxconn 4000
frontend sni_passthrough
  mode tcp
  bind 127.0.0.1:${tls}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
${SNI_NAMES.map((n, i) => `  use_backend be_app${i + 1} if { req.ssl_sni -i ${n} }`).join('\n')}
  default_backend be_app1
${backends}
frontend tcp_forward
  mode tcp
  bind 127.0.0.1:${tcp}
  default_backend be_tcp
backend be_tcp
  mode tcp
  server p1 127.0.0.1:${originHttpPort()}
`;
}

/** Seconds between health checks of the breaker job (also while down): matches edgeplane's tripped_duration. */
export const HAPROXY_BREAKER_CHECK_S = 3;

// HTTP jobs after peers-bench's configs.sh (mode http, default http-reuse safe, TLS 1.3 only, no
// tickets, no session cache). The breaker job has no Hystrix breaker in haproxy: the nearest is
// passive health from live traffic (observe layer7: a 5xx counts as an error; error-limit
// consecutive errors → on-error mark-down), brought back by active checks once the server answers.
export function haproxyHttpConfig(job: 'http' | 'gzip' | 'breaker', certs: CertFiles): string {
  const p = httpProxyPorts('haproxy');
  const frontends = {
    http: `frontend http_plain
  mode http
  bind 127.0.0.1:${p.http}
  default_backend be_origin
frontend https_terminated
  mode http
  bind 127.0.0.1:${p.https} ssl crt ${certs.combined} no-tls-tickets
  default_backend be_origin`,
    gzip: `frontend http_gzip
  mode http
  bind 127.0.0.1:${p.gzip}
  compression algo gzip
  compression type application/json
  default_backend be_origin`,
    breaker: `frontend http_breaker
  mode http
  bind 127.0.0.1:${p.breaker}
  default_backend be_flaky
backend be_flaky
  mode http
  option httpchk GET /small
  server f1 127.0.0.1:${flakyHttpPort()} check inter ${HAPROXY_BREAKER_CHECK_S}s fastinter ${HAPROXY_BREAKER_CHECK_S}s downinter ${HAPROXY_BREAKER_CHECK_S}s fall 3 rise 1 observe layer7 error-limit 10 on-error mark-down`,
  }[job];
  return `global
  nbthread ${proxyWorkers()}
  maxconn 4000
  tune.ssl.cachesize 0
  ssl-default-bind-options ssl-min-ver TLSv1.3
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  maxconn 4000
${frontends}
backend be_origin
  mode http
  server o1 127.0.0.1:${originHttpPort()}
`;
}
