// Every HTTP route module, in pipeline order (spec §1.9). Request side: ip_restriction first, then
// the identity module, request_headers last before the upstream. Response side, same order: circuit breaker accounting,
// compression, response_headers (then request_headers' Location rewrite). Adding a module = its
// file + one line here.
import type { RouteModulesSpec } from '../../../core/generation/spec.js';
import type { ModuleEntry, ModuleFactory } from '../pipeline.js';
import { createCircuitBreaker } from './circuit-breaker.js';
import { createCompression } from './compression.js';
import { createIpRestriction } from './ip-restriction.js';
import { createOAuth } from './oauth.js';
import { createOidc } from './oidc.js';
import { createRequestHeaders } from './request-headers.js';
import { createResponseHeaders } from './response-headers.js';
import { createSaml } from './saml.js';
import { createUserAgentFilter } from './user-agent-filter.js';
import { createWebhookVerification } from './webhook-verification.js';

// Checks that a key and its factory agree, then widens the entry to the registry's element type.
function entry<K extends keyof RouteModulesSpec>(key: K, create: ModuleFactory<K>): ModuleEntry {
  return { key, create } as unknown as ModuleEntry;
}

export const MODULE_REGISTRY: readonly ModuleEntry[] = Object.freeze([
  entry('ip_restriction', createIpRestriction),
  // Webhook verification answers before the identity modules: providers never log in, and a request
  // that is not from the provider should not start a login either.
  entry('webhook_verification', createWebhookVerification),
  // Identity modules (oauth, oidc, saml; at most one per route) answer their own paths and logins
  // before the filters (spec §1.9 lists them first among the modules that answer at the edge).
  entry('oidc', createOidc),
  entry('oauth', createOAuth),
  entry('saml', createSaml),
  entry('user_agent_filter', createUserAgentFilter),
  entry('circuit_breaker', createCircuitBreaker),
  entry('compression', createCompression),
  entry('response_headers', createResponseHeaders),
  entry('request_headers', createRequestHeaders),
]);
