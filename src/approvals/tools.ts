import type { CallToolResult, ServerNotification, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Caller } from '../pipeline/toolCall.js';
import { resultForQuarantined, resultForRequest } from './results.js';
import { isOpen, OPEN_STATES } from './states.js';
import type { ApprovalRuntime } from './service.js';

export const STATUS_TOOL = 'gatehouse__approval_status';
export const WAIT_TOOL = 'gatehouse__wait_for_approval';

/** Gatehouse's own tools, listed beside the downstream ones; downstream names may not take them. */
export const BUILTIN_TOOL_NAMES: ReadonlySet<string> = new Set([STATUS_TOOL, WAIT_TOOL]);

export function builtinTools(maxWaitSeconds: number): Tool[] {
  return [
    {
      name: STATUS_TOOL,
      title: 'Approval status',
      description:
        'Returns the state of a tool call that Gatehouse is holding for human approval: still pending, ' +
        'rejected (with the reason), expired, or the real result once approved and executed.',
      inputSchema: {
        type: 'object',
        properties: {
          approvalId: { type: 'string', description: 'The approvalId from the pending result.' },
        },
        required: ['approvalId'],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    {
      name: WAIT_TOOL,
      title: 'Wait for approval',
      description:
        `Waits up to ${maxWaitSeconds} seconds for a held tool call to be decided and executed, then returns its ` +
        'state like gatehouse__approval_status. Cancelling this call cancels the approval request.',
      inputSchema: {
        type: 'object',
        properties: {
          approvalId: { type: 'string', description: 'The approvalId from the pending result.' },
          timeoutSeconds: {
            type: 'number',
            minimum: 1,
            maximum: maxWaitSeconds,
            description: `At most ${maxWaitSeconds}.`,
          },
        },
        required: ['approvalId'],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
  ];
}

const StatusArgs = z.strictObject({ approvalId: z.string().min(1) });
const WaitArgs = z.strictObject({
  approvalId: z.string().min(1),
  timeoutSeconds: z.number().positive().optional(),
});

export interface BuiltinContext {
  approvals: ApprovalRuntime;
  caller: Caller;
  maxWaitSeconds: number;
  signal: AbortSignal;
  progressToken?: string | number;
  sendNotification: (notification: ServerNotification) => Promise<void>;
}

/** How often the wait tool reports progress, so clients that reset their timeout on progress keep waiting. */
const PROGRESS_EVERY_MS = 5_000;

export async function callBuiltinTool(
  name: string,
  args: Record<string, unknown> | undefined,
  context: BuiltinContext,
): Promise<CallToolResult> {
  const parsed = (name === WAIT_TOOL ? WaitArgs : StatusArgs).safeParse(args ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`)
      .join('; ');
    return { content: [{ type: 'text', text: `Invalid arguments for ${name}: ${problems}` }], isError: true };
  }
  const { approvalId } = parsed.data;
  const { approvals } = context;
  let request = await approvals.get(approvalId);
  // Only the requester may follow a request: others learn nothing, not even that it exists.
  if (!request || request.caller.id !== context.caller.id) {
    // A record set aside as untrusted still tells its requester (by the id it names) that it never runs.
    const quarantined = (await approvals.quarantined()).find(
      (q) =>
        q.id === approvalId && (q.record as { caller?: { id?: unknown } })?.caller?.id === context.caller.id,
    );
    if (!request && quarantined) return resultForQuarantined(quarantined);
    return {
      content: [{ type: 'text', text: `No approval request ${approvalId} of yours exists.` }],
      isError: true,
    };
  }
  if (name === WAIT_TOOL && isOpen(request.state)) {
    const seconds = Math.min(
      (parsed.data as z.infer<typeof WaitArgs>).timeoutSeconds ?? context.maxWaitSeconds,
      context.maxWaitSeconds,
    );
    const started = Date.now();
    const report = (progressToken: string | number) =>
      void context
        .sendNotification({
          method: 'notifications/progress',
          params: {
            progressToken,
            progress: Math.round((Date.now() - started) / 1000),
            total: seconds,
            message: `waiting for approval ${approvalId}`,
          },
        })
        .catch(() => undefined);
    const { progressToken } = context;
    // The first report at once: the client learns the wait has begun, not only that it goes on.
    if (progressToken !== undefined) report(progressToken);
    const progress =
      progressToken === undefined ? undefined : setInterval(() => report(progressToken), PROGRESS_EVERY_MS);
    try {
      request =
        (await approvals.waitWhile(approvalId, OPEN_STATES, seconds * 1000, context.signal)) ?? request;
    } finally {
      clearInterval(progress);
    }
    if (context.signal.aborted) {
      request = await approvals.cancel(
        approvalId,
        `the requester (${context.caller.id}) cancelled the call while waiting`,
      );
    }
  }
  return resultForRequest(request, false, approvals);
}
