export { createHttpAuthenticator, type HttpAuthenticator } from './authenticator.js';
export { bearerRefusal, type BearerRefusal, type ChallengeHints } from './challenge.js';
export type { Authentication, AuthFailure, Principal } from './principal.js';
export { resolveStdioCaller } from './stdio.js';
export { resourceMetadata, type ResourceMetadata } from './resourceMetadata.js';
