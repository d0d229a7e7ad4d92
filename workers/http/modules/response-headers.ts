// response_headers (spec §1.6): edits the headers the client gets, just before they are written, so
// http_request_complete.v0 shows the result. Templates see the response (`res.status_code`).
import type { HttpModule } from '../exchange.js';
import type { ModuleFactory } from '../pipeline.js';
import { applyHeaderEdits, compileHeaderEdits } from './header-edits.js';

export const createResponseHeaders: ModuleFactory<'response_headers'> = (spec): HttpModule => {
  const edits = compileHeaderEdits(spec);
  return {
    name: 'response_headers',
    onResponseHead(x) {
      applyHeaderEdits(x.responseHeaders, edits, x);
    },
  };
};
