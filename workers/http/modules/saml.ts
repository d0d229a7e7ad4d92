// saml route module (spec §1.6 "SAML module"): SAML 2.0 login through the shared identity flow.
//
// The SP's entity id and ACS URL are built from the endpoint's origin (https://host[:port]), but the
// module is compiled per route, not per host: one SamlAdapter is built lazily per origin the flow
// validated (callbackUriOf: the Host names the host the request was routed by), kept in a small
// bounded map. The flow hands the provider that origin as the callback URI on every call.
import type { SamlSpec } from '../../../core/generation/spec.js';
import type { EdgeResponse, Exchange, HttpModule } from '../exchange.js';
import type { CompileContext } from '../pipeline.js';
import { authCommonFromSpec, callbackUriOf, createAuthModule, stripIdentityHeaders } from '../auth/flow.js';
import type { AuthorizationVerdict, CallbackInput, Identity, IdentityProvider, LoginResult, LoginSecrets } from '../auth/provider.js';
import { SamlAdapter, SAML_METADATA_PATH } from '../auth/saml-adapter.js';
import { authorizeGroups } from '../auth/saml-identity.js';

/** Origins one route keeps adapters for: a route has few hostnames, but the Host port is the client's pick. */
const MAX_ORIGINS = 16;

/** The route's SAML adapters, one per origin, oldest dropped first. */
class SamlAdapters {
  private readonly byOrigin = new Map<string, SamlAdapter>();
  constructor(private readonly spec: SamlSpec) {}

  /** The adapter for the origin of an absolute callback URL (https://host[:port]/auth/callback). */
  forCallback(callbackUri: string): SamlAdapter {
    const origin = originOf(callbackUri);
    let adapter = this.byOrigin.get(origin);
    if (adapter === undefined) {
      adapter = new SamlAdapter(this.spec, { baseUrl: origin });
      if (this.byOrigin.size >= MAX_ORIGINS) this.byOrigin.delete(this.byOrigin.keys().next().value!);
      this.byOrigin.set(origin, adapter);
    }
    return adapter;
  }
}

/** The route's IdentityProvider: every login call carries the callback URI, which picks the adapter. */
class SamlRouteProvider implements IdentityProvider {
  readonly kind = 'saml';
  /** Host-independent; the module sets the per-host entity id on the exchange (see createSaml). */
  readonly clientId = SAML_METADATA_PATH;
  constructor(private readonly adapters: SamlAdapters, private readonly spec: SamlSpec) {}

  /** ForceAuthn comes from the config (force_authn), so /auth/authn's LoginOptions are not used. */
  beginLogin(redirectUri: string, state: string, secrets: LoginSecrets): Promise<string> {
    return this.adapters.forCallback(redirectUri).beginLogin(redirectUri, state, secrets);
  }

  completeLogin(input: CallbackInput): Promise<LoginResult> {
    return this.adapters.forCallback(input.redirectUri).completeLogin(input);
  }

  authorize(identity: Identity): AuthorizationVerdict {
    return authorizeGroups(identity, this.spec.authorizedGroups);
  }
}

export function createSaml(spec: SamlSpec, ctx: CompileContext): HttpModule {
  const adapters = new SamlAdapters(spec);
  // Built once here so that a bad SP certificate or key fails the compile, not the first login.
  new SamlAdapter(spec, { baseUrl: 'https://sp.invalid' });
  const flow = createAuthModule('saml', new SamlRouteProvider(adapters, spec), authCommonFromSpec(spec), ctx);

  /** The SP entity id of this request's host (event field oauth.app_client_id), once the flow set one. */
  function noteEntityId(x: Exchange): void {
    if (x.vars.oauthAppClientId === undefined) return;
    const callback = callbackUriOf(x);
    if (callback !== null) x.vars.oauthAppClientId = adapters.forCallback(callback).entityId;
  }

  return {
    ...flow,
    onRequest(x) {
      if (x.path === SAML_METADATA_PATH) return metadata(x, adapters);
      const result = flow.onRequest!(x);
      if (result instanceof Promise) {
        return result.then((answer) => {
          noteEntityId(x);
          return answer;
        });
      }
      noteEntityId(x);
      return result;
    },
  };
}

/** The SP metadata of the host the client asked, answered at the edge. */
function metadata(x: Exchange, adapters: SamlAdapters): EdgeResponse {
  stripIdentityHeaders(x);
  const callback = callbackUriOf(x);
  if (callback === null) return { status: 400, errorCode: 'ERR_NGROK_3102', body: 'The Host header is not a hostname[:port].\n', headers: [] };
  const doc = adapters.forCallback(callback).spMetadata;
  return { status: 200, errorCode: '', body: doc, headers: ['content-type', 'application/samlmetadata+xml'] };
}

function originOf(callbackUri: string): string {
  return new URL(callbackUri).origin;
}
