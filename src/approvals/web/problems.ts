import { randomUUID } from 'node:crypto';
import { isGatehouseError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isClientAborted } from '../../shared/body.js';
import { BodyError } from './respond.js';

/**
 * The one place where errors become HTTP answers for the approval page and API. The state machine's
 * refusals keep their code and message (they are written for people); anything else becomes an opaque
 * 500 with an incident id that is in the log with the stack. Codes of the HTTP layer itself
 * (authentication, CSRF, input) sit beside the registry's.
 */
export type WebErrorCode =
  | ErrorCode
  | 'UNAUTHENTICATED'
  | 'CSRF_INVALID'
  | 'REQUEST_INVALID'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'RATE_LIMITED';

export interface Problem {
  status: number;
  code: WebErrorCode;
  message: string;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  APPROVAL_NOT_FOUND: 404,
  APPROVAL_NOT_PENDING: 409,
  APPROVAL_EXPIRED: 409,
  APPROVAL_ALREADY_DECIDED: 409,
  APPROVAL_TRANSITION_INVALID: 409,
  APPROVAL_QUARANTINED: 409,
  STORE_CONFLICT: 409,
  APPROVER_IS_REQUESTER: 403,
  APPROVER_NOT_LISTED: 403,
  APPROVAL_DECISION_INVALID: 400,
  LIST_CURSOR_INVALID: 400,
  STORE_UNAVAILABLE: 503,
  STORE_LOCKED: 503,
};

export function problem(status: number, code: WebErrorCode, message: string): Problem {
  return { status, code, message };
}

/** A Problem for what a JSON endpoint threw: an unreadable body says why, anything else as toProblem. */
export function jsonProblem(error: unknown, log: Logger): Problem {
  if (!(error instanceof BodyError)) return toProblem(error, log);
  const code =
    error.status === 413
      ? 'BODY_TOO_LARGE'
      : error.status === 415
        ? 'UNSUPPORTED_MEDIA_TYPE'
        : 'REQUEST_INVALID';
  return problem(error.status, code, error.message);
}

/**
 * A Problem for anything thrown while handling a request; logs what it does not show. A client that
 * hung up mid-body gets no answer and is no error of ours: that goes on to the listener, which counts
 * it (front/http.ts).
 */
export function toProblem(error: unknown, log: Logger): Problem {
  if (isClientAborted(error)) throw error;
  if (isGatehouseError(error)) {
    const status = STATUS_BY_CODE[error.code];
    if (status !== undefined && status < 500) return problem(status, error.code, error.message);
    if (status !== undefined) {
      log.error({ err: error }, 'approval request failed: store unavailable');
      return problem(status, error.code, 'the approval store is unavailable; try again shortly');
    }
  }
  const incident = randomUUID();
  log.error({ err: error, incident }, 'approval request failed');
  return problem(500, 'INTERNAL', `internal error (incident ${incident}); the Gatehouse log has the details`);
}
