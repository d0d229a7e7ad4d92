import { originHttpPort, originTlsPorts, proxyPorts, SNI_NAMES } from '../ports.js';

// mode tcp, 1 thread, after /work/shared/peers-bench/scripts/configs.sh: wait for the
// ClientHello, route on req.ssl_sni; plain TCP forward on the second port.
export function haproxyConfig(): string {
  const { tls, tcp } = proxyPorts('haproxy');
  const backends = SNI_NAMES.map((_n, i) => `backend be_app${i + 1}
  mode tcp
  server t${i + 1} 127.0.0.1:${originTlsPorts()[i]}`).join('\n');
  return `global
  nbthread 1
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
