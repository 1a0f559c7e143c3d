import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChannelDeliveryError, type Channel } from '../src/approvals/channels/channel.js';
import type { DirectoryEntry } from '../src/approvals/channels/config.js';
import { createDirectory } from '../src/approvals/channels/directory.js';
import { createSlackChannel } from '../src/approvals/channels/slack/channel.js';
import { SlackChannelSchema, type SlackChannelConfig } from '../src/approvals/channels/slack/config.js';
import { createTeamsBotChannel } from '../src/approvals/channels/teams/bot.js';
import { TeamsBotChannelSchema } from '../src/approvals/channels/teams/config.js';
import { createMemoryConversationStore } from '../src/approvals/channels/teams/conversations.js';
import type { ApprovalRequest } from '../src/approvals/request.js';
import type { ApprovalRuntime } from '../src/approvals/service.js';
import { finishExecution, newApprovalRequest, startExecution } from '../src/approvals/states.js';
import { createApprovalWeb, type ApprovalWeb } from '../src/approvals/web/index.js';
import { startHttpFront, type HttpFront } from '../src/front/http.js';
import type { FrontDeps } from '../src/front/session.js';
import { createHttpAuthenticator } from '../src/identity/index.js';
import { silentLogger } from '../src/log.js';
import { createMemoryStore, type ApprovalStore } from '../src/store/index.js';
import { sampleInput, testConfig, serviceWithoutExecution } from './helpers/approvals.js';
import { blockKitProblems, plainTexts } from './helpers/blockKit.js';
import {
  APP_ID,
  cardAction,
  startBotFramework,
  startConnector,
  startEntra,
  TENANT,
  type BotFramework,
  type Connector,
  type Entra,
} from './helpers/microsoft.js';
import { eventually } from './helpers/processes.js';
import {
  blockAction,
  BOT_TOKEN,
  CONVERSATION,
  OTHER_TEAM,
  SIGNING_SECRET,
  signedInteraction,
  startSlack,
  TEAM,
  triggerId,
  viewSubmission,
  type Clicker,
  type FakeSlack,
  type SlackCall,
} from './helpers/slack.js';
import { outboxStandIn } from './helpers/outbox.js';
import { summaryOf } from './helpers/teamsSummary.js';

/**
 * The Slack channel over HTTP on Gatehouse's own listener, beside the approval page and a Teams bot,
 * over the real ApprovalService and state machine, against a stand-in Slack Web API on 127.0.0.1. The
 * test plays the outbox: it delivers each request's announce and updates. Clicks are POSTed as Slack
 * POSTs them: form-encoded and signed with the app's signing secret.
 */

const USER = {
  alice: 'U0ALICE01',
  bob: 'U0BOB0001',
  carol: 'U0CAROL01',
  dave: 'U0DAVE001',
  erin: 'W0ERIN001',
  stranger: 'U0NOBODY1',
};
/** An Enterprise Grid organization that deploys the app to all of its workspaces. */
const ORG = 'E0GATEORG';
const OID = { carol: 'cccccccc-0000-0000-0000-00000000000c' };
/** alice asks; she is in security too, so only the requester rule keeps her from approving. */
const DIRECTORY: DirectoryEntry[] = [
  { id: 'alice', groups: ['dev', 'security'], slack: { userId: USER.alice, teamId: TEAM } },
  { id: 'bob', groups: ['security'], slack: { userId: USER.bob, teamId: TEAM } },
  { id: 'carol', groups: ['security'], teams: { aadObjectId: OID.carol, tenantId: TENANT } },
  { id: 'dave', groups: ['marketing'], slack: { userId: USER.dave, teamId: TEAM } },
  { id: 'erin', groups: ['security'], slack: { userId: USER.erin, enterpriseId: ORG } },
];

let slack: FakeSlack;
let botFramework: BotFramework;
let entra: Entra;
let connector: Connector;
let store: ApprovalStore;
let service: ApprovalRuntime;
let channel: Channel;
let teams: Channel;
let page: ApprovalWeb;
let front: HttpFront;

/** What the channel logged (warnings and up). */
const logs: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

function slackConfig(extra: Record<string, unknown> = {}): SlackChannelConfig {
  return SlackChannelSchema.parse({
    type: 'slack',
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    channels: [CONVERSATION],
    apiUrl: slack.apiUrl,
    ...extra,
  });
}

function slackOn(config: SlackChannelConfig): Channel {
  return createSlackChannel(config, {
    name: 'slack',
    service,
    directory: createDirectory({ directory: DIRECTORY, accounts: [] }),
    people: DIRECTORY,
    summarize: (request) => summaryOf(request, front.url),
    logger,
  });
}

beforeAll(async () => {
  slack = await startSlack();
  botFramework = await startBotFramework();
  entra = await startEntra();
  connector = await startConnector(entra);
  store = createMemoryStore();
  service = serviceWithoutExecution(store);
  const config = testConfig();
  page = createApprovalWeb({ service, config, logger: silentLogger, baseUrl: () => front.url });
  front = await startHttpFront({
    config: { ...config, http: { ...config.http, host: '127.0.0.1', port: 0 } },
    deps: {} as FrontDeps,
    serveMcp: false,
    authenticator: createHttpAuthenticator(config.identity, silentLogger),
    status: () => ({}),
    logger: silentLogger,
    routes: async (req, res) =>
      (await channel.routes!(req, res)) || (await teams.routes!(req, res)) || page.routes(req, res),
  });
  channel = slackOn(slackConfig());
  teams = createTeamsBotChannel(
    TeamsBotChannelSchema.parse({
      type: 'teams-bot',
      appId: APP_ID,
      appPassword: 'app-secret-value',
      tenantId: TENANT,
      conversations: [{ id: '19:approvals@thread.tacv2' }],
      endpoints: { login: entra.url, openIdMetadata: botFramework.metadata, serviceUrl: connector.url },
    }),
    {
      name: 'teams',
      service,
      directory: DIRECTORY,
      conversations: createMemoryConversationStore(),
      summarize: (request) => summaryOf(request, front.url),
      logger: silentLogger,
    },
  );
});

afterAll(async () => {
  await channel?.close?.();
  await front?.close();
  await page?.close();
  await Promise.all([slack, botFramework, entra, connector].map((s) => s?.close()));
});

beforeEach(() => {
  slack.calls.length = 0;
  logs.length = 0;
});

/** A new request by alice that `quorum` members of security must approve. */
async function newRequest(quorum = 1): Promise<ApprovalRequest> {
  const input = sampleInput({
    caller: { id: 'alice', groups: ['dev', 'security'] },
    requirements: [{ rule: 'fs-writes', approvers: ['group:security'], quorum }],
  });
  return (await store.create(newApprovalRequest(input, new Date()))).request;
}

const outbox = outboxStandIn(
  'slack',
  (id) => service.get(id),
  () => front.url,
);
const memos = outbox.memos;

/** The outbox's delivery of the request as it is now; `retry`: the same delivery again. */
const deliver = (id: string, kind: 'announce' | 'update' = 'update', on: Channel = channel, retry = false) =>
  outbox.deliver(id, kind, on, retry);

/** POSTs a signed interaction to the listener, as Slack does. */
async function post(payload: unknown, options: Parameters<typeof signedInteraction>[1] = {}) {
  const { headers, body } = signedInteraction(payload, options);
  const response = await fetch(`${front.url}/api/slack/interactions`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, text };
}

/** `who` clicks a button of the request's message in Slack. */
function click(
  who: keyof typeof USER,
  action: string,
  id: string,
  extra: Omit<Clicker, 'userId'> & { trigger?: string } = {},
) {
  const { trigger, ...where } = extra;
  return post(blockAction(action, id, { userId: USER[who], ...where }, { trigger }));
}

/** The ephemeral notices Slack was asked to show `who`. */
const told = (who: keyof typeof USER) =>
  slack
    .of('chat.postEphemeral')
    .filter((c) => c.args.user === USER[who])
    .map((c) => String(c.args.text));

/** Waits for `who`'s next notice (the sign that the work after the answer is done). */
async function noticeFor(who: keyof typeof USER, count = 1): Promise<string> {
  await eventually(() => told(who).length >= count, `${who} told what their click did`);
  return told(who).at(-1)!;
}

const texts = (call: SlackCall) => plainTexts({ blocks: call.args.blocks }).join('\n');

describe('the Slack channel posts and updates messages', () => {
  it('posts the Block Kit message to the configured conversation with the bot token', async () => {
    const request = await newRequest();
    const outcome = await deliver(request.id, 'announce');
    expect(outcome).toEqual({
      memo: { [`ts:${CONVERSATION}`]: expect.stringMatching(/^\d+\.\d+$/) },
      target: CONVERSATION,
    });
    const [posted] = slack.of('chat.postMessage');
    expect(posted).toMatchObject({
      token: BOT_TOKEN,
      args: { channel: CONVERSATION, unfurl_links: 'false' },
    });
    expect(blockKitProblems({ text: posted!.args.text, blocks: posted!.args.blocks })).toEqual([]);
    expect(JSON.stringify(posted!.args.blocks)).toContain(`${front.url}/approvals/${request.id}`);
    expect(JSON.stringify(posted!.args.blocks)).toContain('"action_id":"gatehouse_approve"');
  });

  it('replaces the message in place on updates', async () => {
    const request = await newRequest();
    await deliver(request.id, 'announce');
    await deliver(request.id, 'update');
    const [update] = slack.of('chat.update');
    expect(update!.args).toMatchObject({
      channel: CONVERSATION,
      ts: memos.get(request.id)![`ts:${CONVERSATION}`],
    });
    expect(slack.of('chat.postMessage')).toHaveLength(1);
  });

  it('429 with Retry-After and transient errors are retryable, and the retry posts once', async () => {
    const request = await newRequest();
    slack.failNext({
      status: 429,
      headers: { 'retry-after': '7' },
      body: { ok: false, error: 'ratelimited' },
    });
    const throttled = await deliver(request.id, 'announce').catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(ChannelDeliveryError);
    expect(throttled).toMatchObject({ retryable: true, retryAfterMs: 7000, target: CONVERSATION });
    expect((throttled as Error).message).toContain('chat.postMessage (C0APPROVALS): Slack answered 429');
    slack.failNext({ status: 200, body: { ok: false, error: 'internal_error' } });
    const retry = () => deliver(request.id, 'announce', channel, true);
    expect(await retry().catch((e: unknown) => e)).toMatchObject({ retryable: true });
    slack.failNext({ status: 503, body: 'upstream unavailable' });
    expect(await retry().catch((e: unknown) => e)).toMatchObject({
      retryable: true,
      context: { status: 503 },
    });
    await retry();
    expect(slack.calls.map((c) => c.method)).toEqual(Array(4).fill('chat.postMessage'));
    // One message reached Slack, and its ts goes on to the updates.
    expect(memos.get(request.id)).toEqual({ [`ts:${CONVERSATION}`]: expect.any(String) });
  });

  it("Slack's refusals are final and name the error, never the token", async () => {
    for (const error of ['channel_not_found', 'not_in_channel', 'invalid_auth', 'missing_scope']) {
      slack.failNext({
        status: 200,
        body: { ok: false, error, ...(error === 'missing_scope' ? { needed: 'chat:write' } : {}) },
      });
      const refused = await deliver((await newRequest()).id, 'announce').catch((e: unknown) => e);
      expect(refused).toMatchObject({ retryable: false });
      expect((refused as Error).message).toContain(`Slack answered ${error}`);
      expect((refused as Error).message).not.toContain(BOT_TOKEN);
    }
    expect(
      (await deliver(
        (await newRequest()).id,
        'announce',
        slackOn(slackConfig({ botToken: 'xoxb-revoked' })),
      ).catch((e: unknown) => e)) as Error,
    ).toMatchObject({
      retryable: false,
      message: expect.stringContaining('invalid_auth'),
    });
  });

  it('a Slack that does not answer is retryable', async () => {
    const unreachable = slackOn(slackConfig({ apiUrl: 'http://127.0.0.1:9/api/' }));
    const error = await deliver((await newRequest()).id, 'announce', unreachable).catch((e: unknown) => e);
    expect(error).toMatchObject({
      retryable: true,
      message: expect.stringContaining('Slack did not answer'),
    });
  });

  it('with two conversations, a retry after one failed posts only to the other', async () => {
    const two = slackOn(slackConfig({ channels: [CONVERSATION, 'C0SECOND01'] }));
    const request = await newRequest();
    slack.failNext(
      { status: 200, body: { ok: true, channel: CONVERSATION, ts: '1700009999.000100' } },
      { status: 500 },
    );
    expect(await deliver(request.id, 'announce', two).catch((e: unknown) => e)).toMatchObject({
      retryable: true,
    });
    await deliver(request.id, 'announce', two, true);
    expect(slack.of('chat.postMessage').map((c) => c.args.channel)).toEqual([
      CONVERSATION,
      'C0SECOND01',
      'C0SECOND01',
    ]);
    expect(memos.get(request.id)).toEqual({
      [`ts:${CONVERSATION}`]: '1700009999.000100',
      'ts:C0SECOND01': expect.any(String),
    });
  });
});

describe('every interaction is verified before anything is read', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const forged: [string, Parameters<typeof signedInteraction>[1], string][] = [
    ['signed with another secret', { secret: 'another-apps-signing-secret-000' }, 'does not match'],
    ['a stale timestamp', { at: now() - 6 * 60 }, 'at most 300 s either way'],
    ['a future timestamp', { at: now() + 6 * 60 }, 'at most 300 s either way'],
  ];
  for (const [what, options, reason] of forged) {
    it(`${what}: 401, and nothing changes`, async () => {
      const request = await newRequest();
      const before = JSON.stringify(await store.list());
      const answer = await post(blockAction('gatehouse_approve', request.id, { userId: USER.bob }), options);
      expect(answer.status).toBe(401);
      expect(JSON.stringify(await store.list())).toBe(before);
      expect(slack.calls).toEqual([]);
      expect(logs).toContainEqual(
        expect.objectContaining({
          msg: 'Slack interaction refused',
          reason: expect.stringContaining(reason),
        }),
      );
    });
  }

  it('a body changed after signing, or no signature at all: 401', async () => {
    const request = await newRequest();
    const signed = signedInteraction(blockAction('gatehouse_approve', request.id, { userId: USER.dave }));
    const swapped = new URLSearchParams({
      payload: JSON.stringify(blockAction('gatehouse_approve', request.id, { userId: USER.bob })),
    }).toString();
    const url = `${front.url}/api/slack/interactions`;
    expect((await fetch(url, { method: 'POST', headers: signed.headers, body: swapped })).status).toBe(401);
    const { 'x-slack-signature': _, ...unsigned } = signed.headers;
    expect((await fetch(url, { method: 'POST', headers: unsigned, body: signed.body })).status).toBe(401);
    expect((await service.get(request.id))!.decisions).toEqual([]);
  });

  it('a replayed interaction is refused (409) and decides nothing twice', async () => {
    const request = await newRequest(2);
    const payload = blockAction('gatehouse_approve', request.id, { userId: USER.bob });
    const signed = signedInteraction(payload);
    const send = () =>
      fetch(`${front.url}/api/slack/interactions`, {
        method: 'POST',
        headers: signed.headers,
        body: signed.body,
      });
    expect((await send()).status).toBe(200);
    expect(await noticeFor('bob')).toBe('You approved this request.');
    const after = JSON.stringify(await store.get(request.id));
    expect((await send()).status).toBe(409);
    // The same click re-signed just now is the same interaction (its trigger id) too.
    expect((await post(payload)).status).toBe(409);
    expect(JSON.stringify(await store.get(request.id))).toBe(after);
    expect(told('bob')).toHaveLength(1);
  });

  it('unreadable bodies of signed requests are 400, oversized ones 413, other methods 405', async () => {
    expect((await post(undefined, { body: 'payload=%7Bnot-json' })).status).toBe(400);
    expect((await post(undefined, { body: 'nothing=here' })).status).toBe(400);
    expect((await post({ type: 'block_actions', user: { id: USER.bob } })).status).toBe(400);
    expect((await post(undefined, { body: `payload=${'x'.repeat(1_100_000)}` })).status).toBe(413);
    expect((await fetch(`${front.url}/api/slack/interactions`)).status).toBe(405);
  });
});

describe('decisions clicked in Slack', () => {
  it('bob approves: the answer comes first, the decision after, and the message is updated for everyone', async () => {
    const request = await newRequest();
    await deliver(request.id, 'announce');
    const answer = await click('bob', 'gatehouse_approve', request.id);
    expect(answer).toEqual({ status: 200, text: '' });
    expect(await noticeFor('bob')).toBe('You approved this request.');
    const approved = (await service.get(request.id))!;
    expect(approved.state).toBe('approved');
    expect(approved.decisions).toEqual([
      expect.objectContaining({ approver: { id: 'bob', groups: ['security'] }, channel: 'slack' }),
    ]);

    // The outbox delivers the change: the same message now says who approved, without buttons.
    await deliver(request.id, 'update');
    const running = slack.of('chat.update').at(-1)!;
    expect(running.args.ts).toBe(memos.get(request.id)![`ts:${CONVERSATION}`]);
    expect(texts(running)).toContain('Approved: running');
    expect(texts(running)).toContain('bob via slack at');
    expect(JSON.stringify(running.args.blocks)).not.toContain('gatehouse_approve');

    // The call runs; the outcome replaces it too, and a thread reply mentions alice once.
    await store.transition(request.id, 'approved', (r) => startExecution(r, new Date()));
    await store.transition(request.id, 'executing', (r) =>
      finishExecution(r, { result: { content: [{ type: 'text', text: 'written' }] } }, new Date()),
    );
    await deliver(request.id, 'update');
    await deliver(request.id, 'update');
    const done = slack.of('chat.update').at(-1)!;
    expect(texts(done).split('\n')[0]).toBe('Approved and run');
    const replies = slack.of('chat.postMessage').filter((c) => c.args.thread_ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.args).toMatchObject({ channel: CONVERSATION, thread_ts: running.args.ts });
    expect(replies[0]!.args.text).toBe(
      `<@${USER.alice}> your request has ended: *Approved and run*. The message above has the details.`,
    );
    for (const call of [...slack.of('chat.update'), ...slack.of('chat.postMessage')]) {
      expect(blockKitProblems({ text: call.args.text, blocks: call.args.blocks })).toEqual([]);
    }
  });

  it('no mention when the config says so, or when the requester has no Slack account', async () => {
    const quiet = slackOn(slackConfig({ mentionRequester: false }));
    const request = await newRequest();
    await deliver(request.id, 'announce', quiet);
    await click('bob', 'gatehouse_reject', request.id);
    await eventually(() => slack.of('views.open').length === 1, 'the modal opened');
    const context = slack.of('views.open')[0]!.args.view.private_metadata as string;
    await post(viewSubmission(context, 'no', { userId: USER.bob }));
    await noticeFor('bob');
    await deliver(request.id, 'update', quiet);
    expect(texts(slack.of('chat.update').at(-1)!).split('\n')[0]).toBe('Rejected');
    expect(slack.of('chat.postMessage').filter((c) => c.args.thread_ts)).toEqual([]);
  });

  it('bob rejects: Reject opens a modal with the trigger id, its submission decides with the reason', async () => {
    const request = await newRequest();
    await deliver(request.id, 'announce');
    const trigger = triggerId();
    expect((await click('bob', 'gatehouse_reject', request.id, { trigger })).status).toBe(200);
    await eventually(() => slack.of('views.open').length === 1, 'the modal opened');
    const opened = slack.of('views.open')[0]!;
    expect(opened.args.trigger_id).toBe(trigger);
    expect(blockKitProblems(opened.args.view, 'modal')).toEqual([]);
    expect((await service.get(request.id))!.state).toBe('pending');

    // An empty reason is answered in the modal, which stays open; nothing is decided.
    const context = opened.args.view.private_metadata as string;
    const empty = await post(viewSubmission(context, '   ', { userId: USER.bob }));
    expect(empty.status).toBe(200);
    expect(JSON.parse(empty.text)).toEqual({
      response_action: 'errors',
      errors: { reason: 'A rejection needs a reason of at most 1000 characters.' },
    });
    expect((await service.get(request.id))!.decisions).toEqual([]);

    const submitted = await post(viewSubmission(context, 'wrong file', { userId: USER.bob }));
    expect(submitted).toEqual({ status: 200, text: '' });
    expect(await noticeFor('bob')).toBe('You rejected this request.');
    const rejected = (await service.get(request.id))!;
    expect(rejected.state).toBe('rejected');
    expect(rejected.decisions[0]).toMatchObject({
      decision: 'reject',
      reason: 'wrong file',
      channel: 'slack',
    });
    await deliver(request.id, 'update');
    const final = slack.of('chat.update').at(-1)!;
    expect(texts(final)).toContain('bob at');
    expect(texts(final)).toContain(': wrong file');
    expect(slack.of('chat.postMessage').filter((c) => c.args.thread_ts)).toHaveLength(1);
  });

  it('the requester clicking Approve or Reject is refused and told why, and nothing changes', async () => {
    const request = await newRequest();
    const before = JSON.stringify(await store.get(request.id));
    await click('alice', 'gatehouse_approve', request.id);
    expect(await noticeFor('alice')).toBe(
      'Not recorded: you made this request, so another approver must decide.',
    );
    await click('alice', 'gatehouse_reject', request.id);
    expect(await noticeFor('alice', 2)).toContain('you made this request');
    expect(slack.of('views.open')).toEqual([]);
    expect(JSON.stringify(await store.get(request.id))).toBe(before);
  });

  it('someone not listed, not linked, or linked in another workspace is refused, in it or in ours; nothing changes', async () => {
    const request = await newRequest();
    await click('dave', 'gatehouse_approve', request.id);
    expect(await noticeFor('dave')).toContain('you are not an approver');
    await click('stranger', 'gatehouse_approve', request.id);
    expect(await noticeFor('stranger')).toContain('not linked to a Gatehouse approver');
    // bob's member id, but in another workspace: not bob.
    await click('bob', 'gatehouse_approve', request.id, { teamId: OTHER_TEAM });
    expect(await noticeFor('bob')).toContain('not linked');
    // bob's member id, of another workspace, clicking in ours over Slack Connect: not bob either.
    await click('bob', 'gatehouse_approve', request.id, { homeTeamId: OTHER_TEAM });
    expect(await noticeFor('bob', 2)).toContain('not linked');
    expect(logs).toContainEqual(
      expect.objectContaining({
        teamId: OTHER_TEAM,
        mismatch: `member id ${USER.bob} is "bob"'s in workspace ${TEAM}, but the click's account is in workspace ${OTHER_TEAM}`,
      }),
    );
    // A modal submitted by someone not linked decides nothing either.
    await post(
      viewSubmission(JSON.stringify({ approvalId: request.id, channelId: CONVERSATION }), 'no', {
        userId: USER.stranger,
      }),
    );
    await noticeFor('stranger', 2);
    expect((await service.get(request.id))!.decisions).toEqual([]);
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'Slack decision from an account not in approvers.directory: not recorded',
        userId: USER.stranger,
      }),
    );
  });

  it('Enterprise Grid: an organization-wide account counts in every workspace of its organization, nowhere else', async () => {
    // The app deployed to the whole organization: Slack sends team null, the organization in enterprise.
    const first = await newRequest();
    await deliver(first.id, 'announce');
    await click('erin', 'gatehouse_approve', first.id, { enterpriseId: ORG, orgWide: true });
    expect(await noticeFor('erin')).toBe('You approved this request.');
    expect((await service.get(first.id))!.decisions).toEqual([
      expect.objectContaining({ approver: { id: 'erin', groups: ['security'] }, channel: 'slack' }),
    ]);

    // Installed in one workspace of the organization: the workspace on team, the organization beside it.
    const second = await newRequest();
    await click('erin', 'gatehouse_reject', second.id, { teamId: OTHER_TEAM, enterpriseId: ORG });
    await eventually(() => slack.of('views.open').length === 1, 'the modal opened');
    const context = slack.of('views.open')[0]!.args.view.private_metadata as string;
    await post(viewSubmission(context, 'not now', { userId: USER.erin, enterpriseId: ORG, orgWide: true }));
    expect(await noticeFor('erin', 2)).toBe('You rejected this request.');
    expect((await service.get(second.id))!.decisions[0]).toMatchObject({
      approver: { id: 'erin' },
      decision: 'reject',
      reason: 'not now',
    });

    // erin's member id in another organization, or with no organization at all, is not erin.
    const third = await newRequest();
    await click('erin', 'gatehouse_approve', third.id, { enterpriseId: 'E0ELSEWHERE', orgWide: true });
    expect(await noticeFor('erin', 3)).toContain('not linked');
    await click('erin', 'gatehouse_approve', third.id);
    expect(await noticeFor('erin', 4)).toContain('not linked');
    // bob is linked in his workspace only: an organization-wide click names no workspace.
    await click('bob', 'gatehouse_approve', third.id, { enterpriseId: ORG, orgWide: true });
    expect(await noticeFor('bob')).toContain('not linked');
    expect((await service.get(third.id))!.decisions).toEqual([]);
    // The log says why, and what to change.
    expect(logs).toContainEqual(
      expect.objectContaining({
        msg: 'Slack decision from an account not in approvers.directory: not recorded',
        userId: USER.bob,
        enterpriseId: ORG,
        mismatch:
          `member id ${USER.bob} is "bob"'s in workspace ${TEAM}, but the click's account is in ` +
          `organization ${ORG}; the app is deployed to the whole organization, whose clicks name no ` +
          `workspace: give "bob"'s account as "enterpriseId": "${ORG}"`,
      }),
    );
  });

  it('a finished request refuses everyone; the page link button is acknowledged and ignored', async () => {
    const request = await newRequest();
    await click('bob', 'gatehouse_approve', request.id);
    await noticeFor('bob');
    expect((await click('alice', 'gatehouse_open', request.id)).status).toBe(200);
    await click('bob', 'gatehouse_approve', request.id);
    expect(await noticeFor('bob', 2)).toContain('no longer takes decisions');
    expect((await service.get(request.id))!.decisions).toHaveLength(1);
    expect(told('alice')).toEqual([]);
  });

  it('a quorum of two across Slack and Teams, with the message after each step', async () => {
    const request = await newRequest(2);
    await deliver(request.id, 'announce');
    expect(texts(slack.of('chat.postMessage')[0]!)).toContain('group:security (2 needed)');

    await click('bob', 'gatehouse_approve', request.id);
    await noticeFor('bob');
    expect((await service.get(request.id))!.state).toBe('pending');
    await deliver(request.id, 'update');
    const half = slack.of('chat.update').at(-1)!;
    expect(JSON.stringify(half.args.blocks)).toContain('Approved so far (1 of 2)');
    expect(JSON.stringify(half.args.blocks)).toContain('gatehouse_approve');

    // bob again, from Slack: still one approver.
    await click('bob', 'gatehouse_approve', request.id);
    expect(await noticeFor('bob', 2)).toContain('already decided');

    // carol approves from her Teams card.
    const token = await botFramework.sign({ aud: APP_ID, serviceurl: connector.url });
    const activity = cardAction(
      'approve',
      { approvalId: request.id },
      { serviceUrl: connector.url, fromAadObjectId: OID.carol },
    );
    const byTeams = await fetch(`${front.url}/api/teams/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(activity),
    });
    expect(byTeams.status).toBe(200);
    const done = (await service.get(request.id))!;
    expect(done.state).toBe('approved');
    expect(done.decisions.map((d) => [d.approver.id, d.channel])).toEqual([
      ['bob', 'slack'],
      ['carol', 'teams'],
    ]);
    await deliver(request.id, 'update');
    const full = slack.of('chat.update').at(-1)!;
    expect(texts(full)).toContain('bob via slack at');
    expect(texts(full)).toContain('carol via teams at');
    expect(JSON.stringify(full.args.blocks)).toContain('Approved so far (2 of 2)');
    expect(JSON.stringify(full.args.blocks)).not.toContain('gatehouse_approve');
  });
});
