import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { z } from 'zod';
import { isGatehouseError, type ErrorCode } from '../../../errors.js';
import type { Logger } from '../../../log.js';
import type { ApprovalStore } from '../../../store/store.js';
import type { ApprovalService } from '../../service.js';
import { decodePathSegment } from '../../web/context.js';
import { jsonProblem, problem, type Problem } from '../../web/problems.js';
import { readBody, sendJson } from '../../web/respond.js';
import type { ApproverDirectory } from '../directory.js';
import type { WebhookChannelConfig } from './config.js';
import { createReplayGuard, type ReplayGuard } from './replay.js';
import { hashCallbackToken, looksLikeCallbackToken } from './tokens.js';

/**
 * Signed webhooks, inbound: a receiver decides by POSTing to /api/approvals/:id/decision, signed with
 * its channel's Standard Webhooks secret, with the single-use callback token an event carried and the
 * approver's Gatehouse id. In order: the signature (which also names the channel) and its timestamp
 * window, the webhook-id against replays, the body, the token (consumed atomically: a second use is
 * refused), the channel's allow-list, the approver in approvers.directory, and then
 * ApprovalService.decide with every rule the page has (listed approver, never the requester, quorum,
 * first decision wins, rejection final). A refused decision changes nothing and gives the token back.
 * Every refusal is JSON `{error: {code, message}}` with its status; never a stack trace.
 *
 * A request without a `webhook-signature` header is not a callback: the approval API (bearer tokens)
 * answers it.
 */

export interface WebhookCallbackDeps {
  /** The webhook channels, by instance name. */
  channels: ReadonlyMap<string, WebhookChannelConfig>;
  store: Pick<ApprovalStore, 'useCallbackToken' | 'releaseCallbackToken'>;
  service: Pick<ApprovalService, 'decide'>;
  directory: ApproverDirectory;
  logger: Logger;
  now?: () => Date;
}

const CallbackBodySchema = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  reason: z.string().max(2000).optional(),
  approver: z.strictObject({ id: z.string().min(1).max(256) }),
  token: z.string().min(1).max(256),
});

const MAX_BODY_BYTES = 16 * 1024;

/** Refusals of the state machine write nothing: the token they came with may be used again. */
const NOTHING_WRITTEN: ReadonlySet<ErrorCode> = new Set([
  'APPROVAL_NOT_FOUND',
  'APPROVAL_NOT_PENDING',
  'APPROVAL_EXPIRED',
  'APPROVAL_ALREADY_DECIDED',
  'APPROVAL_DECISION_INVALID',
  'APPROVAL_QUARANTINED',
  'APPROVER_IS_REQUESTER',
  'APPROVER_NOT_LISTED',
]);

class Refusal extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

const refuse = (status: number, code: ErrorCode | 'REQUEST_INVALID', message: string) =>
  new Refusal(problem(status, code, message));

export function createWebhookCallbacks(deps: WebhookCallbackDeps) {
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ module: 'webhook-callbacks' });
  const verifiers = [...deps.channels].map(([name, config]) => ({
    name,
    config,
    signers: config.secrets.map((secret) => new Webhook(secret)),
    replays: createReplayGuard(config.maxRememberedIds),
  }));

  /** The channel whose secret signed this body, or a refusal saying what is wrong. */
  function verify(body: string, headers: Record<string, string>): (typeof verifiers)[number] {
    if (!headers['webhook-id'] || !headers['webhook-timestamp']) {
      throw refuse(
        401,
        'WEBHOOK_SIGNATURE_INVALID',
        'a signed callback needs webhook-id and webhook-timestamp',
      );
    }
    for (const verifier of verifiers) {
      for (const signer of verifier.signers) {
        try {
          signer.verify(body, headers, { jsonParse: false });
          return verifier;
        } catch (error) {
          if (!(error instanceof WebhookVerificationError)) throw error;
          // The timestamp is checked before any signature: outside the window, no secret will do.
          if (/timestamp/i.test(error.message)) {
            throw refuse(
              401,
              'WEBHOOK_SIGNATURE_INVALID',
              "webhook-timestamp is not within 5 minutes of Gatehouse's clock (or is not a Unix time in seconds)",
            );
          }
        }
      }
    }
    throw refuse(
      401,
      'WEBHOOK_SIGNATURE_INVALID',
      "the webhook-signature matches no webhook channel's secret",
    );
  }

  function remember(replays: ReplayGuard, headers: Record<string, string>): void {
    const at = now().getTime();
    const seen = replays.remember(headers['webhook-id']!, Number(headers['webhook-timestamp']) * 1000, at);
    if (seen === 'replayed') {
      throw refuse(
        409,
        'WEBHOOK_REPLAYED',
        `webhook-id ${headers['webhook-id']} was received already; send a new id`,
      );
    }
    if (seen === 'full') {
      throw refuse(
        503,
        'WEBHOOK_REPLAYED',
        'too many callbacks in the last minutes to check for replays; try again later',
      );
    }
  }

  async function decide(req: IncomingMessage, id: string): Promise<{ status: number; body: unknown }> {
    const text = await readBody(req, 'application/json', MAX_BODY_BYTES);
    const headers = lowercase(req.headers);
    const { name, config, replays } = verify(text, headers);
    remember(replays, headers);
    if (!config.decisions) throw refuse(403, 'APPROVER_NOT_ALLOWED', `channel ${name} takes no decisions`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw refuse(400, 'REQUEST_INVALID', 'the body is not valid JSON');
    }
    const parsed = CallbackBodySchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      throw refuse(400, 'REQUEST_INVALID', `expected {decision, reason?, approver: {id}, token}: ${issues}`);
    }
    const body = parsed.data;
    if (!looksLikeCallbackToken(body.token)) {
      throw refuse(401, 'CALLBACK_TOKEN_INVALID', 'token is not a Gatehouse callback token');
    }
    const hash = hashCallbackToken(body.token);
    const use = await deps.store.useCallbackToken(hash, now());
    if (!use.ok) {
      const [status, why] = {
        unknown: [401, 'is unknown'],
        used: [409, "was used already: each event's token carries one decision"],
        expired: [410, 'expired with its request'],
      }[use.reason] as [number, string];
      throw refuse(status, 'CALLBACK_TOKEN_INVALID', `the callback token ${why}`);
    }
    const giveBack = () => deps.store.releaseCallbackToken(hash).catch(() => undefined);
    if (use.token.approvalId !== id || use.token.channel !== name) {
      await giveBack();
      throw refuse(
        403,
        'CALLBACK_TOKEN_INVALID',
        `the callback token is not for approval ${id} on channel ${name}`,
      );
    }
    const approverId = body.approver.id;
    if (config.approvers && !config.approvers.includes(approverId)) {
      await giveBack();
      throw refuse(403, 'APPROVER_NOT_ALLOWED', `channel ${name} may not decide as ${approverId}`);
    }
    const approver = deps.directory.byId(approverId);
    if (!approver) {
      await giveBack();
      throw refuse(
        403,
        'APPROVER_UNKNOWN',
        `${approverId} is neither in approvers.directory nor a local account: no one to decide as`,
      );
    }
    const reason = body.reason?.trim();
    try {
      const decided = await deps.service.decide(id, {
        approver,
        decision: body.decision,
        ...(reason ? { reason } : {}),
        channel: name,
      });
      log.info(
        { approval: id, approver: approver.id, decision: body.decision, channel: name },
        'decision recorded',
      );
      return {
        status: 200,
        body: {
          approval: {
            id,
            state: decided.state,
            approvals: decided.decisions.filter((d) => d.decision === 'approve').length,
            quorum: decided.quorum,
          },
        },
      };
    } catch (error) {
      if (isGatehouseError(error) && NOTHING_WRITTEN.has(error.code)) await giveBack();
      throw error;
    }
  }

  /** Answers signed callbacks; resolves false for anything else. */
  async function routes(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.headers['webhook-signature'] === undefined) return false;
    const path = new URL(req.url ?? '/', 'http://gatehouse.invalid').pathname.replace(/\/+$/, '');
    const match = /^\/api\/approvals\/([^/]+)\/decision$/.exec(path);
    const id = match ? decodePathSegment(match[1]!) : undefined;
    if (id === undefined) return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, error(problem(405, 'METHOD_NOT_ALLOWED', 'use POST')), { allow: 'POST' });
      return true;
    }
    try {
      const { status, body } = await decide(req, id);
      sendJson(res, status, body);
    } catch (failure) {
      const p = refusalOf(failure, log);
      log.warn(
        { approval: id, code: p.code, status: p.status, reason: p.message },
        'webhook callback refused',
      );
      sendJson(res, p.status, error(p));
    }
    return true;
  }

  return { routes };
}

function refusalOf(failure: unknown, log: Logger): Problem {
  return failure instanceof Refusal ? failure.problem : jsonProblem(failure, log);
}

const error = (p: Problem) => ({ error: { code: p.code, message: p.message } });

function lowercase(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
