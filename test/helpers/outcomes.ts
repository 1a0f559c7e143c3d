import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import type { NewApprovalRequest } from '../../src/approvals/states.js';
import { finishExecution, startExecution } from '../../src/approvals/states.js';
import type { FakeApprovalService } from './approvals.js';

/**
 * A request of the fake service taken through the real state machine to `executed`: approved by bob,
 * claimed, and finished with `result` as the server sent it (an isError result: the tool ran and
 * reported an error).
 */
export async function executedWith(
  service: FakeApprovalService,
  result: CallToolResult,
  overrides: Partial<NewApprovalRequest> = {},
): Promise<ApprovalRequest> {
  const { id, createdAt } = await service.add(overrides);
  await service.decide(id, { approver: { id: 'bob', groups: ['security'] }, decision: 'approve' });
  // On the service's clock: it runs as soon as it is approved.
  const at = new Date(createdAt);
  await service.store.transition(id, 'approved', (r) => startExecution(r, at));
  const { request } = await service.store.transition(id, 'executing', (r) =>
    finishExecution(r, { result: result as never }, at),
  );
  return request;
}

/** What server-filesystem answers a write outside its folder, made long: an error worth wrapping. */
export const TOOL_ERROR: CallToolResult = {
  content: [
    {
      type: 'text',
      text:
        'Access denied - path outside allowed directories: /srv/reports/quarterly/2026/q1/' +
        'consolidated-numbers-final-approved-by-finance.xlsx not in /home/alice/projects/gatehouse-demo/files',
    },
  ],
  isError: true,
};
