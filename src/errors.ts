/**
 * One base class and a registry of codes. Every error Gatehouse raises on purpose is a GatehouseError
 * with a code from this table; `front/errors.ts` is the single place where errors become wire errors.
 *
 * Exit codes have one meaning each: 2 when what the person gave is unusable (the configuration, the
 * policy set, the command line, or a file they name there that is missing or malformed), 1 when
 * something fails while running (a busy port, a locked or corrupt store or audit log, a refused API
 * call, a check that finds a problem).
 */
export const ERROR_CODES = {
  CONFIG_INVALID: { exitCode: 2, summary: 'the configuration file is invalid' },
  CONFIG_NOT_FOUND: { exitCode: 2, summary: 'the configuration file cannot be read' },
  CONFIG_ENV_MISSING: { exitCode: 2, summary: 'a ${VAR} reference names an unset environment variable' },
  NAME_COLLISION: { exitCode: 2, summary: 'two downstream items would be exposed under the same name' },
  POLICY_INVALID: { exitCode: 2, summary: 'the policy set failed to load' },
  DOWNSTREAM_UNAVAILABLE: { exitCode: 1, summary: 'the downstream server is not connected' },
  DOWNSTREAM_TIMEOUT: { exitCode: 1, summary: 'the downstream server did not answer in time' },
  DOWNSTREAM_CLOSED: {
    exitCode: 1,
    summary: 'the downstream connection closed while a request was in flight',
  },
  DOWNSTREAM_INVALID: {
    exitCode: 1,
    summary: 'the downstream server answered with a result that is not valid MCP',
  },
  CLIENT_CANCELLED: { exitCode: 1, summary: 'the client cancelled its request' },
  CREDENTIAL_UNAVAILABLE: {
    exitCode: 1,
    summary: 'a credential a rule gives the call could not be minted or delivered; the call did not run',
  },
  UNKNOWN_TOOL: { exitCode: 1, summary: 'no downstream server exposes this tool' },
  UNKNOWN_PROMPT: { exitCode: 1, summary: 'no downstream server exposes this prompt' },
  UNKNOWN_RESOURCE: { exitCode: 1, summary: 'no downstream server exposes this resource' },
  ROUTING_AMBIGUOUS: {
    exitCode: 1,
    summary: 'a server-initiated request cannot be attributed to one client session',
  },
  CLIENT_CAPABILITY_MISSING: {
    exitCode: 1,
    summary: 'the client does not support what the downstream server asked for',
  },
  DIGEST_INPUT_INVALID: { exitCode: 1, summary: 'a value cannot be canonicalised as RFC 8785 JSON' },
  APPROVAL_NOT_FOUND: { exitCode: 1, summary: 'no approval request has this id' },
  APPROVAL_NOT_PENDING: { exitCode: 1, summary: 'the approval request no longer takes decisions' },
  APPROVAL_EXPIRED: { exitCode: 1, summary: 'the approval request has expired' },
  APPROVER_IS_REQUESTER: { exitCode: 1, summary: 'the requester cannot decide on their own request' },
  APPROVER_NOT_LISTED: { exitCode: 1, summary: 'the approver is not listed for any rule of the request' },
  APPROVAL_ALREADY_DECIDED: { exitCode: 1, summary: 'the approver has already decided on this request' },
  APPROVAL_DECISION_INVALID: { exitCode: 1, summary: 'a rejection needs a reason' },
  APPROVAL_TRANSITION_INVALID: { exitCode: 1, summary: 'the approval state machine forbids this change' },
  LIST_CURSOR_INVALID: { exitCode: 1, summary: 'a list cursor is not one this Gatehouse gave out' },
  APPROVAL_QUARANTINED: {
    exitCode: 1,
    summary: 'the stored approval request was altered or is corrupt; it is set aside and never runs',
  },
  APPROVER_UNKNOWN: {
    exitCode: 1,
    summary: 'a channel named an approver who is neither in approvers.directory nor a local account',
  },
  APPROVER_NOT_ALLOWED: { exitCode: 1, summary: 'this channel may not decide as this approver' },
  CHANNEL_DELIVERY_FAILED: { exitCode: 1, summary: 'a channel did not accept a delivery' },
  WEBHOOK_SIGNATURE_INVALID: {
    exitCode: 1,
    summary: 'a webhook callback is unsigned, signed with an unknown secret, or outside the time window',
  },
  WEBHOOK_REPLAYED: { exitCode: 1, summary: 'a webhook callback with this webhook-id was already received' },
  CALLBACK_TOKEN_INVALID: {
    exitCode: 1,
    summary: 'a decision callback token is unknown, already used, expired or for another request',
  },
  TEAMS_PACKAGE_INVALID: {
    exitCode: 2,
    summary: "the Teams app package would not pass Microsoft's manifest schema, or its input is unusable",
  },
  STORE_LOCKED: { exitCode: 1, summary: 'another process holds the store file' },
  STORE_INVALID: { exitCode: 1, summary: 'the store file is not a valid Gatehouse store' },
  STORE_VERSION_UNSUPPORTED: { exitCode: 1, summary: 'this Gatehouse cannot read the store schema version' },
  STORE_UNAVAILABLE: { exitCode: 1, summary: 'the store file cannot be read or written' },
  STORE_SERVER_UNSUPPORTED: { exitCode: 1, summary: 'the PostgreSQL server is older than Gatehouse needs' },
  STORE_CONFLICT: { exitCode: 1, summary: 'the store refused a write that would break its invariants' },
  AUDIT_KEY_INVALID: { exitCode: 2, summary: 'an audit signer or verifier key, or the key file, is invalid' },
  AUDIT_KEY_UNAVAILABLE: { exitCode: 2, summary: 'the audit key file cannot be read or written' },
  AUDIT_NOTE_INVALID: {
    exitCode: 1,
    summary: 'a signed note or checkpoint is malformed or no known key verifies it',
  },
  AUDIT_RECORD_INVALID: { exitCode: 1, summary: 'the record cannot be written to the audit log' },
  AUDIT_LOG_LOCKED: { exitCode: 1, summary: 'another process writes this audit log' },
  AUDIT_LOG_UNAVAILABLE: { exitCode: 1, summary: 'the audit log cannot be read or written' },
  AUDIT_LOG_CORRUPT: {
    exitCode: 1,
    summary: 'the audit log does not match its records or signed checkpoints',
  },
  AUDIT_PROOF_UNAVAILABLE: { exitCode: 1, summary: 'no signed checkpoint covers this audit record yet' },
  AUDIT_MIRROR_FAILED: { exitCode: 1, summary: 'a checkpoint could not be copied to its second place' },
  LISTEN_FAILED: { exitCode: 1, summary: 'the HTTP listener cannot listen on its address (a busy port)' },
  UNAUTHENTICATED: { exitCode: 1, summary: 'the running Gatehouse refused the credentials given' },
  CLIENT_ABORTED: { exitCode: 1, summary: 'the client hung up before its request body was complete' },
  CLIENT_CONFIG_INVALID: {
    exitCode: 2,
    summary: "an MCP client's configuration file cannot be read, is not valid JSON, or cannot be changed",
  },
  CALL_NOT_APPROVED: {
    exitCode: 1,
    summary: 'a held call ended without running: rejected, expired or cancelled',
  },
  USAGE: { exitCode: 2, summary: 'the command line is invalid' },
  INTERNAL: { exitCode: 1, summary: 'an unexpected internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    context: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GatehouseError';
    this.code = code;
    this.context = Object.freeze({ ...context });
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }
}

export function isGatehouseError(value: unknown, code?: ErrorCode): value is GatehouseError {
  return value instanceof GatehouseError && (code === undefined || value.code === code);
}

/** A message safe to show a person: ours verbatim, anything else reduced to its class. */
export function describeError(error: unknown): string {
  if (error instanceof GatehouseError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
