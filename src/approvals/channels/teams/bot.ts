import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../log.js';
import { sendJson } from '../../web/respond.js';
import type { ApprovalRequest } from '../../request.js';
import type { ApprovalService } from '../../service.js';
import { ChannelDeliveryError, type Channel, type ChannelMessage, type DeliveryOutcome } from '../channel.js';
import { createFanOut } from '../fanout.js';
import { readInbound } from '../inbound.js';
import type { ApprovalSummary } from '../summary.js';
import { ActivitySchema, membership, tenantOf, type Activity } from './activity.js';
import { createBotTokenVerifier } from './botAuth.js';
import { approvalCard } from './card.js';
import { teamsEndpoints, type TeamsBotChannelConfig } from './config.js';
import { createConnectorClient, type ConnectorTarget } from './connector.js';
import type { TeamsConversationStore } from './conversations.js';
import { createEntraTokens } from './entra.js';
import { approverFromTeams, approverObjectIds, type DirectoryPerson } from './identity.js';
import { createMemberIds } from './members.js';
import { createCardActionHandler } from './invoke.js';

/**
 * The interactive Teams bot: a Channel that posts each request's card to the configured conversations
 * and replaces it in place as the request changes, and serves the bot's messaging endpoint on
 * Gatehouse's own listener. Every activity's token is verified before its body is read (botAuth.ts);
 * installs teach it where conversations are reached; card clicks decide through the ApprovalService
 * (invoke.ts).
 */

export interface TeamsBotDeps {
  /** The instance name from the config: decisions are recorded with it as their channel. */
  name: string;
  service: Pick<ApprovalService, 'get' | 'decide'>;
  /** approvers.directory: whose Teams account is which Gatehouse approver. */
  directory: readonly DirectoryPerson[];
  conversations: TeamsConversationStore;
  /** The request as every channel shows it (summarize, with the redactor and the page's base URL). */
  summarize: (request: ApprovalRequest) => ApprovalSummary;
  logger: Logger;
}

/** How long answering a card action waits for member lookups (Teams gives an invoke about 15 s). */
const INVOKE_LOOKUP_MS = 3_000;

/** Throws CONFIG_INVALID when the certificate credential cannot be read. */
export function createTeamsBotChannel(config: TeamsBotChannelConfig, deps: TeamsBotDeps): Channel {
  const log = deps.logger.child({ module: 'teams-bot', channel: deps.name });
  const endpoints = teamsEndpoints(config);
  const verifier = createBotTokenVerifier({
    appId: config.appId,
    issuer: endpoints.tokenIssuer,
    openIdMetadata: endpoints.openIdMetadata,
    logger: log,
  });
  const tokens = createEntraTokens({
    login: endpoints.login,
    tenantId: config.tenantId,
    appId: config.appId,
    credential: config.appPassword !== undefined ? { password: config.appPassword } : config.certificate!,
    scope: endpoints.botScope,
  });
  const connector = createConnectorClient(tokens);
  const memberIds = createMemberIds({ connector, logger: log });
  /**
   * The Teams ids of a request's approvers (not the requester) in one conversation, for its card's
   * refresh; none, and no lookup, once it is not pending (its card has no refresh then).
   */
  const refreshUserIds = async (summary: ApprovalSummary, target: ConnectorTarget, signal: AbortSignal) =>
    summary.state === 'pending'
      ? memberIds.idsFor(
          target,
          approverObjectIds(summary.approvers, summary.requester.id, deps.directory, config.tenantId),
          signal,
        )
      : [];
  const onCardAction = createCardActionHandler({
    channel: deps.name,
    tenantId: config.tenantId,
    service: deps.service,
    directory: deps.directory,
    summarize: deps.summarize,
    maxCardBytes: config.maxCardBytes,
    refreshUserIds: (summary, target) =>
      refreshUserIds(summary, target, AbortSignal.timeout(INVOKE_LOOKUP_MS)),
    logger: log,
  });
  // The activity ids go on to the next delivery; what else the fan-out marks served its retries.
  const fanOut = createFanOut<ConnectorTarget>({
    idOf: (target) => target.conversationId,
    keep: (key) => key.startsWith('activity:'),
    what: 'conversations',
  });
  const sameTenant = (tenant: string | undefined) => tenant?.toLowerCase() === config.tenantId.toLowerCase();
  if (config.conversations.length === 0) {
    log.warn(
      'no conversations configured: cards go nowhere until approvals.channels.' +
        `${deps.name}.conversations names one (the bot logs each conversation it is installed in)`,
    );
  }

  /** Where each configured conversation is reached: its own serviceUrl, the learned one, or the cloud's. */
  async function targets(): Promise<ConnectorTarget[]> {
    const learned = (await deps.conversations.list(config.appId)).filter((r) => sameTenant(r.tenantId));
    return config.conversations.map((conversation) => {
      const serviceUrl =
        conversation.serviceUrl ??
        learned.find((r) => r.conversationId === conversation.id)?.serviceUrl ??
        // One tenant's conversations share its region's Connector.
        learned.at(-1)?.serviceUrl ??
        endpoints.serviceUrl;
      if (!serviceUrl) {
        throw new ChannelDeliveryError(
          `no serviceUrl is known for conversation ${conversation.id}: install the bot there, or configure its serviceUrl`,
          { retryable: false },
        );
      }
      return { conversationId: conversation.id, serviceUrl: serviceUrl.replace(/\/+$/, '') };
    });
  }

  async function deliver(message: ChannelMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    const all = await targets();
    if (all.length === 0) {
      throw new ChannelDeliveryError(`teams-bot ${deps.name} has no conversations configured to post to`, {
        retryable: false,
      });
    }
    const { summary } = message;
    const memo = await fanOut.deliver(message, all, async (target, memo) => {
      // Each conversation's card names its own members.
      const card = approvalCard(summary, {
        mode: 'bot',
        maxBytes: config.maxCardBytes,
        refreshUserIds: await refreshUserIds(summary, target, signal),
      });
      const key = `activity:${target.conversationId}`;
      const activityId = memo[key];
      // A card already posted is replaced in place; a conversation without one gets it now.
      if (activityId) await connector.update(target, activityId, card, signal);
      else memo[key] = await connector.post(target, card, signal);
    });
    return { memo, target: all.map((t) => t.conversationId).join(', ') };
  }

  async function routes(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? '/', 'http://gatehouse.invalid').pathname;
    if (path !== config.path) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'POST only' }, { allow: 'POST' });
      return true;
    }
    // The token first: nothing of an unauthenticated request is read, parsed or stored.
    const check = await verifier.verify(req.headers.authorization);
    if (!check.ok) {
      log.warn({ reason: check.reason, remote: req.socket.remoteAddress }, 'Teams activity refused');
      sendJson(res, check.status, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      return true;
    }
    const activity = await readActivity(req, res);
    if (!activity) return true;
    const mismatch = verifier.mismatch(check.token, activity);
    if (mismatch || activity.channelId !== 'msteams') {
      const reason = mismatch ?? `channel ${JSON.stringify(activity.channelId)} is not Teams`;
      log.warn({ reason, remote: req.socket.remoteAddress }, 'Teams activity refused');
      sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      return true;
    }
    // Kept for the directory's people only: what the bot holds grows with approvers, not with the tenant.
    const tenantId = tenantOf(activity);
    if (
      sameTenant(tenantId) &&
      approverFromTeams(deps.directory, { aadObjectId: activity.from.aadObjectId, tenantId })
    ) {
      memberIds.learn(activity.from.aadObjectId, activity.from.id);
    }
    // Learning where conversations are is a convenience: a store that fails it must not block a decision.
    await learn(activity).catch((error: unknown) =>
      log.error({ err: error, conversationId: activity.conversation.id }, 'Teams conversation not recorded'),
    );
    if (activity.type === 'invoke') {
      if (activity.name !== 'adaptiveCard/action') {
        sendJson(res, 501, { error: `invoke ${activity.name ?? ''} is not handled` });
        return true;
      }
      sendJson(res, 200, await onCardAction(activity));
      return true;
    }
    res.writeHead(200).end();
    return true;
  }

  async function readActivity(req: IncomingMessage, res: ServerResponse): Promise<Activity | undefined> {
    const body = await readInbound(req, res, config.maxActivityBytes, 'activity');
    if (!body) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = undefined;
    }
    const parsed = ActivitySchema.safeParse(json);
    if (!parsed.success) {
      sendJson(res, 400, { error: 'not a Bot Framework activity' });
      return undefined;
    }
    return parsed.data;
  }

  /** Installs and removals in this tenant, and a Connector that moved, kept in the conversation store. */
  async function learn(activity: Activity): Promise<void> {
    const tenantId = tenantOf(activity);
    const change = membership(activity);
    const conversationId = activity.conversation.id;
    if (!sameTenant(tenantId)) {
      if (change === 'added')
        log.warn({ conversationId, tenantId }, 'bot installed in another tenant: ignored');
      return;
    }
    if (change === 'removed') {
      await deps.conversations.remove(config.appId, conversationId);
      log.info({ conversationId }, 'bot removed from a Teams conversation');
      return;
    }
    const known = (await deps.conversations.list(config.appId)).find(
      (r) => r.conversationId === conversationId,
    );
    if (change !== 'added' && (!known || known.serviceUrl === activity.serviceUrl)) return;
    const type = activity.conversation.conversationType;
    await deps.conversations.save({
      appId: config.appId,
      conversationId,
      ...(type === 'channel' || type === 'groupChat' || type === 'personal'
        ? { conversationType: type }
        : {}),
      tenantId: tenantId!,
      serviceUrl: activity.serviceUrl,
      ...(activity.channelData?.team?.id ? { teamId: activity.channelData.team.id } : {}),
      updatedAt: new Date().toISOString(),
    });
    if (change === 'added') {
      const configured = config.conversations.some((c) => c.id === conversationId);
      log.info(
        { conversationId, conversationType: type, teamId: activity.channelData?.team?.id, configured },
        configured
          ? 'bot installed in a configured Teams conversation'
          : `bot installed in a Teams conversation; add its id to approvals.channels.${deps.name}.conversations to post approval cards there`,
      );
    }
  }

  return { name: deps.name, type: 'teams-bot', deliver, routes };
}
