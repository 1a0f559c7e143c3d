import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);
let loaded: typeof Undici | undefined;

/**
 * undici, loaded at its first use. Loading it is about a third of a second of CPU on a loaded machine,
 * which a Gatehouse without HTTP downstreams, webhook channels, credential issuers, audit mirrors or a
 * SIEM copy would otherwise pay before it can answer its first client. It is CommonJS, so this loads
 * it synchronously and its callers stay as they were.
 */
export const undici = (): typeof Undici => (loaded ??= require('undici') as typeof Undici);
