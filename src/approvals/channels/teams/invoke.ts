import { isGatehouseError } from '../../../errors.js';
import type { Logger } from '../../../log.js';
import type { ApprovalRequest, Identity } from '../../request.js';
import type { ApprovalService } from '../../service.js';
import { DECISION_REFUSALS, mayDecide, refusalText } from '../deciding.js';
import type { ApprovalSummary } from '../summary.js';
import { CardActionSchema, tenantOf, type Activity, type InvokeResponse } from './activity.js';
import { approvalCard, REASON_MAX_CHARS, VERBS, type CardOptions } from './card.js';
import type { ConnectorTarget } from './connector.js';
import { approverFromTeams, type DirectoryPerson } from './identity.js';

/**
 * What a click on a card (or Teams refreshing it) does: an `adaptiveCard/action` invoke, from an
 * activity whose token was verified. The approver is the directory entry of the Entra account Teams
 * reported; the decision goes to ApprovalService.decide like the page's, with this channel's name, and
 * the service's rules decide (listed approver, never the requester, quorum, first decision wins,
 * rejection final). The answer is the card as that person should now see it: the outcome, or why
 * their click did not count. Everyone else's card is replaced by the update delivered on the change.
 */

export interface CardActionContext {
  channel: string;
  tenantId: string;
  service: Pick<ApprovalService, 'get' | 'decide'>;
  directory: readonly DirectoryPerson[];
  summarize: (request: ApprovalRequest) => ApprovalSummary;
  maxCardBytes: number;
  /** The Teams ids of the request's approvers in the conversation, for the card's refresh. */
  refreshUserIds: (summary: ApprovalSummary, target: ConnectorTarget) => Promise<string[]>;
  logger: Logger;
}

export function createCardActionHandler(ctx: CardActionContext) {
  return async function handle(activity: Activity): Promise<InvokeResponse> {
    const target = { serviceUrl: activity.serviceUrl, conversationId: activity.conversation.id };
    /** The card as `viewer` should see it. */
    const view = async (
      request: ApprovalRequest,
      viewer: Identity | undefined,
      notice?: CardOptions['notice'],
    ) => {
      const summary = ctx.summarize(request);
      return {
        statusCode: 200,
        type: 'application/vnd.microsoft.card.adaptive',
        value: approvalCard(summary, {
          mode: 'bot',
          maxBytes: ctx.maxCardBytes,
          refreshUserIds: await ctx.refreshUserIds(summary, target),
          decide: viewer !== undefined && mayDecide(request, viewer),
          ...(notice ? { notice } : {}),
        }),
      } as const;
    };

    const parsed = CardActionSchema.safeParse(activity.value);
    const id = parsed.success ? parsed.data.action.data?.approvalId : undefined;
    if (!parsed.success || typeof id !== 'string')
      return failure(400, 'BadRequest', 'not a Gatehouse card action');
    const { verb, data } = parsed.data.action;
    const request = await ctx.service.get(id);
    if (!request) return failure(404, 'NotFound', 'this approval request is no longer kept');

    const tenantId = tenantOf(activity);
    const viewer =
      tenantId && tenantId.toLowerCase() === ctx.tenantId.toLowerCase()
        ? approverFromTeams(ctx.directory, { aadObjectId: activity.from.aadObjectId, tenantId })
        : undefined;
    if (verb === VERBS.refresh) return view(request, viewer);
    if (verb !== VERBS.approve && verb !== VERBS.reject)
      return failure(400, 'BadRequest', 'unknown card action');

    const who = { aadObjectId: activity.from.aadObjectId, tenantId, approvalId: id, verb };
    if (!viewer) {
      ctx.logger.warn(who, 'Teams decision from an account not in approvers.directory: not recorded');
      return view(request, viewer, {
        tone: 'attention',
        text: 'Not recorded: your Teams account is not linked to a Gatehouse approver (approvers.directory).',
      });
    }
    const reason = typeof data?.reason === 'string' ? data.reason.trim() : '';
    if (verb === VERBS.reject && (reason === '' || reason.length > REASON_MAX_CHARS)) {
      return view(request, viewer, {
        tone: 'attention',
        text: `Not recorded: a rejection needs a reason of at most ${REASON_MAX_CHARS} characters.`,
      });
    }
    try {
      const decided = await ctx.service.decide(id, {
        approver: viewer,
        decision: verb,
        ...(verb === VERBS.reject ? { reason } : {}),
        channel: ctx.channel,
      });
      ctx.logger.info({ ...who, approver: viewer.id, state: decided.state }, 'Teams decision recorded');
      return view(decided, viewer, {
        tone: 'good',
        text: verb === VERBS.approve ? 'You approved this request.' : 'You rejected this request.',
      });
    } catch (error) {
      if (!isGatehouseError(error) || !DECISION_REFUSALS.has(error.code)) throw error;
      ctx.logger.info({ ...who, approver: viewer.id, code: error.code }, 'Teams decision refused');
      const current = (await ctx.service.get(id)) ?? request;
      return view(current, viewer, { tone: 'attention', text: `Not recorded: ${refusalText(error)}` });
    }
  };
}

function failure(statusCode: 400 | 404 | 500, code: string, message: string): InvokeResponse {
  return { statusCode, type: 'application/vnd.microsoft.error', value: { code, message } };
}
