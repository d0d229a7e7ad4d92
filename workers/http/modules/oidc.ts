// oidc route module (spec §1.6 "OpenID Connect module"): OpenID Connect login through the shared
// identity flow, with the worker's discovery cache shared by every oidc route of the worker.
import type { OidcSpec } from '../../../core/generation/spec.js';
import type { HttpModule } from '../exchange.js';
import type { CompileContext } from '../pipeline.js';
import { authCommonFromSpec, authWorkerContext, createAuthModule } from '../auth/flow.js';
import { OidcClient } from '../auth/oidc-client.js';
import { OidcIdentityProvider } from '../auth/oidc-provider-adapter.js';

export function createOidc(spec: OidcSpec, ctx: CompileContext): HttpModule {
  const client = new OidcClient({
    issuer: spec.issuer,
    clientId: spec.clientId,
    clientSecret: spec.clientSecret,
    scopes: spec.scopes,
    discovery: authWorkerContext(ctx).oidcDiscovery,
  });
  return createAuthModule('oidc', new OidcIdentityProvider(client), authCommonFromSpec(spec), ctx);
}
