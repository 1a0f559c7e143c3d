import { z } from 'zod';
import { isGatehouseError } from '../../../errors.js';
import type { Logger } from '../../../log.js';
import type { ApprovalRequest, Identity } from '../../request.js';
import type { ApprovalService } from '../../service.js';
import { applyDecision } from '../../states.js';
import { DECISION_REFUSALS, refusalText } from '../deciding.js';
import type { ApproverDirectory } from '../directory.js';
import type { ApprovalSummary } from '../summary.js';
import type { ReplayGuard } from '../webhook/replay.js';
import type { SlackApi } from './api.js';
import {
  ACTIONS,
  notice,
  REASON_MAX_CHARS,
  REJECT_VIEW,
  rejectModal,
  type RejectContext,
} from './message.js';
import {
  slackClicker,
  slackMismatch,
  type SlackDirectoryPerson,
  type SlackPayloadParties,
} from './identity.js';

/**
 * What a click in Slack does, whichever transport carried it (an HTTP request whose signature was
 * verified, or a Socket Mode envelope on the connection Gatehouse opened with its app-level token).
 * Each interaction is processed once (its trigger id is remembered for the signature window), then
 * answered at once (Slack waits 3 seconds), and the work is done after the answer:
 *
 * - Approve: ApprovalService.decide as the directory person of the payload's user, in its workspace
 *   or Enterprise organization (identity.ts),
 *   with this channel's name, and the service's rules (listed approver, never the requester, quorum,
 *   first decision wins, rejection final).
 * - Reject: the same checks without writing anything, then views.open with the click's trigger_id for
 *   a modal that asks why; its submission (view_submission) decides with that reason. An empty or too
 *   long reason is answered in the modal, before anything else.
 *
 * Whoever clicked is told by an ephemeral message what their click did, or why it did not count.
 * Everyone else sees the message change when the outbox delivers the update.
 */

const Account = z.looseObject({ id: z.string().min(1) });
/** Who clicked, where: the parts `slackClicker` reads (an organization-wide app gets `team: null`). */
const Parties = {
  user: z.looseObject({ id: z.string().min(1), team_id: z.string().nullish() }),
  team: z.looseObject({ id: z.string().min(1), enterprise_id: z.string().nullish() }).nullish(),
  enterprise: Account.nullish(),
};

const BlockActionsSchema = z.looseObject({
  type: z.literal('block_actions'),
  ...Parties,
  trigger_id: z.string().min(1),
  container: z.looseObject({ channel_id: z.string().optional() }).optional(),
  channel: Account.nullish(),
  actions: z
    .array(
      z.looseObject({
        action_id: z.string(),
        value: z.string().optional(),
        action_ts: z.string().optional(),
      }),
    )
    .min(1),
});

const ViewSubmissionSchema = z.looseObject({
  type: z.literal('view_submission'),
  ...Parties,
  trigger_id: z.string().optional(),
  view: z.looseObject({
    id: z.string().min(1),
    hash: z.string().optional(),
    callback_id: z.string(),
    private_metadata: z.string().optional(),
    state: z.looseObject({
      values: z.record(z.string(), z.record(z.string(), z.looseObject({ value: z.string().nullish() }))),
    }),
  }),
});

/** Other interactions (a shortcut, a closed modal) are acknowledged and ignored. */
const OtherSchema = z.looseObject({ type: z.string(), user: Account.optional(), team: Account.nullish() });

const SCHEMAS = { block_actions: BlockActionsSchema, view_submission: ViewSubmissionSchema } as const;

const RejectContextSchema = z.strictObject({
  approvalId: z.string().min(1),
  channelId: z.string().optional(),
}) satisfies z.ZodType<RejectContext>;

/** How to answer one interaction. */
export type InteractionAnswer =
  | {
      outcome: 'accepted';
      /** The body of the acknowledgement (a view_submission's `response_action`); none: empty. */
      ack?: Record<string, unknown>;
      /** What is done once Slack has its answer. */
      after?: () => Promise<void>;
    }
  | { outcome: 'replayed' | 'full' | 'unreadable' };

export interface InteractionContext {
  /** The channel instance's name: decisions are recorded with it. */
  channel: string;
  service: Pick<ApprovalService, 'get' | 'decide'>;
  directory: Pick<ApproverDirectory, 'bySlackAccount'>;
  /** approvers.directory as configured: to say why a listed member id matched nobody. */
  people: readonly SlackDirectoryPerson[];
  summarize: (request: ApprovalRequest) => ApprovalSummary;
  api: SlackApi;
  replays: ReplayGuard;
  logger: Logger;
  now: () => Date;
}

/** Web API calls made after an acknowledgement get this long (a trigger_id lives 3 seconds anyway). */
const FOLLOW_UP_MS = 10_000;

export function createInteractionHandler(ctx: InteractionContext) {
  const signal = () => AbortSignal.timeout(FOLLOW_UP_MS);

  /** Tells `user` (only them) `text` beside the message they clicked; a failure is logged, never thrown. */
  async function tell(channelId: string | undefined, user: string, text: string): Promise<void> {
    if (!channelId) return;
    await ctx.api.postEphemeral(channelId, user, notice(text), signal()).catch((error: unknown) => {
      ctx.logger.warn({ err: error, channelId }, 'Slack: could not tell the clicker what happened');
    });
  }

  /** The directory person of the verified payload's user, and what names them, for the log. */
  function clickOf(payload: SlackPayloadParties, approvalId: string) {
    const clicker = slackClicker(payload);
    const approver = ctx.directory.bySlackAccount(clicker);
    const mismatch = approver ? undefined : slackMismatch(ctx.people, clicker);
    return { approver, log: { ...clicker, approvalId, ...(mismatch ? { mismatch } : {}) } };
  }

  const UNLINKED =
    'Not recorded: your Slack account is not linked to a Gatehouse approver (approvers.directory).';

  /** Decides and tells the clicker; the rules' refusals are told, anything else is logged and told. */
  async function decide(
    approvalId: string,
    approver: Identity,
    verdict: { decision: 'approve' } | { decision: 'reject'; reason: string },
    context: { channelId: string | undefined; user: string; log: Record<string, unknown> },
  ): Promise<void> {
    try {
      const decided = await ctx.service.decide(approvalId, { approver, ...verdict, channel: ctx.channel });
      ctx.logger.info(
        { ...context.log, approver: approver.id, decision: verdict.decision, state: decided.state },
        'Slack decision recorded',
      );
      await tell(
        context.channelId,
        context.user,
        verdict.decision === 'approve' ? 'You approved this request.' : 'You rejected this request.',
      );
    } catch (error) {
      if (isGatehouseError(error) && DECISION_REFUSALS.has(error.code)) {
        ctx.logger.info(
          { ...context.log, approver: approver.id, code: error.code },
          'Slack decision refused',
        );
        await tell(context.channelId, context.user, `Not recorded: ${refusalText(error)}`);
        return;
      }
      if (isGatehouseError(error, 'APPROVAL_NOT_FOUND')) {
        await tell(context.channelId, context.user, 'Not recorded: this approval request is no longer kept.');
        return;
      }
      ctx.logger.error({ err: error, ...context.log }, 'Slack decision failed');
      await tell(
        context.channelId,
        context.user,
        'Gatehouse failed while recording this decision: the request page shows whether it counted.',
      );
    }
  }

  function blockActions(payload: z.infer<typeof BlockActionsSchema>): InteractionAnswer {
    const action = payload.actions[0]!;
    const approvalId = action.value;
    const channelId = payload.container?.channel_id ?? payload.channel?.id;
    // The page link's button is a click too: acknowledged, nothing to do.
    if ((action.action_id !== ACTIONS.approve && action.action_id !== ACTIONS.reject) || !approvalId) {
      return { outcome: 'accepted' };
    }
    const { approver, log } = clickOf(payload, approvalId);
    const user = payload.user.id;
    if (!approver) {
      ctx.logger.warn(log, 'Slack decision from an account not in approvers.directory: not recorded');
      return { outcome: 'accepted', after: () => tell(channelId, user, UNLINKED) };
    }
    if (action.action_id === ACTIONS.approve) {
      return {
        outcome: 'accepted',
        after: () => decide(approvalId, approver, { decision: 'approve' }, { channelId, user, log }),
      };
    }
    return {
      outcome: 'accepted',
      after: () => askWhy(approvalId, approver, payload.trigger_id, channelId, user),
    };
  }

  /** Opens the reason modal, when a rejection by `approver` could count now; tells them why not otherwise. */
  async function askWhy(
    approvalId: string,
    approver: Identity,
    triggerId: string,
    channelId: string | undefined,
    user: string,
  ): Promise<void> {
    const request = await ctx.service.get(approvalId);
    if (!request) {
      await tell(channelId, user, 'Not recorded: this approval request is no longer kept.');
      return;
    }
    try {
      // The state machine's own checks, nothing written: a modal only for a rejection that would count.
      applyDecision(request, { approver, decision: 'reject', reason: 'x', channel: ctx.channel }, ctx.now());
    } catch (error) {
      if (!isGatehouseError(error) || !DECISION_REFUSALS.has(error.code)) throw error;
      await tell(channelId, user, `Not recorded: ${refusalText(error)}`);
      return;
    }
    const context: RejectContext = { approvalId, ...(channelId ? { channelId } : {}) };
    await ctx.api
      .openView(triggerId, rejectModal(ctx.summarize(request), context), signal())
      .catch((error: unknown) => {
        ctx.logger.warn({ err: error, approvalId }, 'Slack: could not open the rejection modal');
        return tell(channelId, user, 'Slack did not open the form for a reason; click Reject again.');
      });
  }

  function viewSubmission(payload: z.infer<typeof ViewSubmissionSchema>): InteractionAnswer {
    const { view } = payload;
    if (view.callback_id !== REJECT_VIEW.callbackId) return { outcome: 'accepted' };
    let context: RejectContext;
    try {
      context = RejectContextSchema.parse(JSON.parse(view.private_metadata ?? ''));
    } catch {
      return { outcome: 'unreadable' };
    }
    const reason = (view.state.values[REJECT_VIEW.block]?.[REJECT_VIEW.action]?.value ?? '').trim();
    if (reason === '' || Array.from(reason).length > REASON_MAX_CHARS) {
      // Answered in the modal, which stays open: nothing is decided.
      return {
        outcome: 'accepted',
        ack: {
          response_action: 'errors',
          errors: {
            [REJECT_VIEW.block]: `A rejection needs a reason of at most ${REASON_MAX_CHARS} characters.`,
          },
        },
      };
    }
    const { approver, log } = clickOf(payload, context.approvalId);
    const user = payload.user.id;
    if (!approver) {
      ctx.logger.warn(log, 'Slack decision from an account not in approvers.directory: not recorded');
      return { outcome: 'accepted', after: () => tell(context.channelId, user, UNLINKED) };
    }
    return {
      outcome: 'accepted',
      after: () =>
        decide(
          context.approvalId,
          approver,
          { decision: 'reject', reason },
          { channelId: context.channelId, user, log },
        ),
    };
  }

  /**
   * One interaction payload, verified by its transport; `signedAtMs`: the time it was signed or
   * received (how long its id is remembered).
   */
  return function handle(body: unknown, signedAtMs: number): InteractionAnswer {
    const kind = OtherSchema.safeParse(body);
    if (!kind.success) return { outcome: 'unreadable' };
    const type = kind.data.type;
    if (type !== 'block_actions' && type !== 'view_submission') return { outcome: 'accepted' };
    const parsed = SCHEMAS[type].safeParse(body);
    if (!parsed.success) return { outcome: 'unreadable' };
    const payload = parsed.data;
    const seen = ctx.replays.remember(interactionKey(payload), signedAtMs, ctx.now().getTime());
    if (seen !== 'fresh') {
      ctx.logger.warn({ type, userId: payload.user.id, seen }, 'Slack interaction refused');
      return { outcome: seen };
    }
    return payload.type === 'block_actions' ? blockActions(payload) : viewSubmission(payload);
  };
}

/**
 * What makes an interaction the same one again: its trigger id (new for every click and submission),
 * in its workspace or organization; a submission without one, its view's id and state hash.
 */
function interactionKey(
  payload: z.infer<typeof BlockActionsSchema> | z.infer<typeof ViewSubmissionSchema>,
): string {
  const { teamId, enterpriseId } = slackClicker(payload);
  const team = teamId ?? enterpriseId ?? '-';
  if (payload.trigger_id) return `${team}/trigger/${payload.trigger_id}`;
  const view = (payload as z.infer<typeof ViewSubmissionSchema>).view;
  return `${team}/view/${view.id}/${view.hash ?? ''}`;
}
