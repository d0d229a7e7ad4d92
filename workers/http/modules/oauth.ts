// oauth route module (spec §1.6 "OAuth module"): login at one of the eight OAuth providers through
// the shared identity flow; the provider's dialect and the email/team/organization rules are in the
// adapter, the cookies, state and identity headers in the flow.
import type { OAuthSpec } from '../../../core/generation/spec.js';
import type { HttpModule } from '../exchange.js';
import type { CompileContext } from '../pipeline.js';
import { authCommonFromSpec, createAuthModule } from '../auth/flow.js';
import { OAuthAdapter } from '../auth/oauth-adapter.js';

export function createOAuth(spec: OAuthSpec, ctx: CompileContext): HttpModule {
  return createAuthModule('oauth', new OAuthAdapter(spec), authCommonFromSpec(spec), ctx);
}
