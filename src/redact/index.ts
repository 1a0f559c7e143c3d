/**
 * Redaction: the one module that decides what of a call may be shown to whom. Built once from
 * `audit.redact` (createRedactor); used by the operational log (log.ts), the approval API's list,
 * and by the audit trail, cards and webhooks, which show redacted arguments plus the keyed digest.
 */
export {
  argumentsDigest,
  createRedactor,
  formatPath,
  type JsonValue,
  type KeyedRedactor,
  type RedactedArguments,
  type RedactedValues,
  type RedactionRules,
  type Redactor,
} from './redactor.js';
export { MARKER, SECRET_KINDS, type SecretKind } from './detectors.js';
export { SECRET_NAME_EXACT, SECRET_NAME_SUFFIXES, NOT_SECRET_NAMES } from './names.js';
export { parseJsonPath } from './paths.js';
export {
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_SCAN_CHARS,
  RedactSettingsSchema,
  type RedactSettings,
} from './options.js';
export {
  CREDENTIAL_MARKER,
  anyKnownCredential,
  credentialForms,
  credentialsScrubbedTotal,
  rememberCredential,
  scrubCredentials,
  scrubCredentialsIn,
  type KnownCredential,
} from './known.js';
