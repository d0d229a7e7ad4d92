// Every provider's test signer, in one list (the e2e test and the README table check use it).
import { ASYMMETRIC_SIGNERS } from './signers-asymmetric.js';
import { BODY_HMAC_SIGNERS } from './signers-body-hmac.js';
import { TIMESTAMPED_SIGNERS } from './signers-timestamped.js';
import { URL_AND_TOKEN_SIGNERS } from './signers-url-and-token.js';
import type { WebhookSigner } from './types.js';

export const ALL_SIGNERS: readonly WebhookSigner[] = [...BODY_HMAC_SIGNERS, ...TIMESTAMPED_SIGNERS, ...URL_AND_TOKEN_SIGNERS, ...ASYMMETRIC_SIGNERS];
