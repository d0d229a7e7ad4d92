// The edge configuration as REST resources mirroring the ngrok API (spec §1.1, §1.2): every write
// edits the running config document through the daemon, so it is checked like the config file and
// installed atomically, or refused with the checker's codes.
import type { ApiExtensions } from '../handler.js';
import { backendFamilies } from './backends.js';
import { certificateAuthorities, reservedDomainDetachRoutes, reservedDomains, tlsCertificates } from './certificates.js';
import { httpsEdges, tcpEdges, tlsEdges } from './edges.js';
import { familyRoutes } from './family.js';
import { ipPolicies, ipPolicyRuleRoutes } from './ip-policies.js';
import { edgeRouteRoutes } from './routes.js';
import type { ConfigDaemon } from './store.js';

export type { ConfigDaemon } from './store.js';

export { CONFIG_RESOURCE_PATH } from './paths.js';

/** The routes; the daemon adds them with `eventApi.addExtensions(configResourceRoutes(this))`. */
export function configResourceRoutes(daemon: ConfigDaemon): ApiExtensions {
  return {
    routes: [
      // sub-paths of an https edge before the edge family's own patterns
      ...edgeRouteRoutes(daemon),
      ...reservedDomainDetachRoutes(daemon),
      ...ipPolicyRuleRoutes(daemon),
      ...[httpsEdges, tlsEdges, tcpEdges, ...backendFamilies, reservedDomains, tlsCertificates, certificateAuthorities, ipPolicies]
        .flatMap((family) => familyRoutes(daemon, family)),
    ],
  };
}
