import { hash } from 'node:crypto';
import { canonicalJson } from '../approvals/digest.js';
import type { ApprovalRequest } from '../approvals/request.js';

/**
 * Which call a request was made for, whatever definition of the tool it was made against: lowercase
 * hex SHA-256 of the canonical JSON of the caller's id, the server, the tool and the arguments. Stores
 * look requests up by it (ApprovalStore.latestWithOtherDefinition) instead of reading every request.
 */
export type CallOf = Pick<ApprovalRequest, 'caller' | 'server' | 'tool' | 'arguments'>;

export function callKeyOf(request: CallOf): string {
  return hash(
    'sha256',
    canonicalJson({
      callerId: request.caller.id,
      server: request.server,
      tool: request.tool,
      arguments: request.arguments,
    }),
    'hex',
  );
}
