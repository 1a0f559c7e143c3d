import type { ToolCall } from '../../pipeline/toolCall.js';

/** What one source mints for one call: the value, never logged or recorded, and how to take it back. */
export interface Minted {
  value: string;
  /** The lease or token id the source gave, for the record (a Vault lease id). Never the value. */
  leaseId?: string;
  /** Revoke it after the call; absent when the credential is only discarded. */
  revoke?: (signal: AbortSignal) => Promise<void>;
}

/** The call a credential is minted for, and what its templates rendered from it. */
export interface MintContext {
  call: ToolCall;
  /** The approval request it runs under, for an approved call. */
  approvalId?: string;
  /** The source's templates (scope, audience, resource, path) rendered from the approved arguments. */
  rendered: Readonly<Record<string, string>>;
  /** Aborted at the mint timeout: a source stops what it started. */
  signal: AbortSignal;
}

/**
 * A source failed: `message` says why in words safe to show the model and the approvers (a status,
 * an OAuth error code, an exit code), never a secret.
 */
export class MintError extends Error {
  override name = 'MintError';
}
