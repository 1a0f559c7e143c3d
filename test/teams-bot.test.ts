import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChannelDeliveryError, type Channel } from '../src/approvals/channels/channel.js';
import { TeamsBotChannelSchema, type TeamsBotChannelConfig } from '../src/approvals/channels/teams/config.js';
import {
  createMemoryConversationStore,
  type TeamsConversationStore,
} from '../src/approvals/channels/teams/conversations.js';
import { createTeamsBotChannel } from '../src/approvals/channels/teams/bot.js';
import type { DirectoryPerson } from '../src/approvals/channels/teams/identity.js';
import { adaptiveCardProblems } from '../src/approvals/channels/teams/schemas.js';
import type { ApprovalRequest } from '../src/approvals/request.js';
import type { ApprovalRuntime } from '../src/approvals/service.js';
import { finishExecution, newApprovalRequest, startExecution } from '../src/approvals/states.js';
import { hashPassword } from '../src/approvals/web/auth/password.js';
import { createApprovalWeb, type ApprovalWeb } from '../src/approvals/web/index.js';
import { startHttpFront, type HttpFront } from '../src/front/http.js';
import type { FrontDeps } from '../src/front/session.js';
import { createHttpAuthenticator } from '../src/identity/index.js';
import { silentLogger } from '../src/log.js';
import { createMemoryStore, type ApprovalStore } from '../src/store/index.js';
import { sampleInput, testConfig, serviceWithoutExecution } from './helpers/approvals.js';
import {
  APP_ID,
  cardAction,
  OTHER_TENANT,
  startBotFramework,
  startConnector,
  startEntra,
  WRONG_SECRET,
  teamsActivity,
  TENANT,
  type BotFramework,
  type Connector,
  type Entra,
} from './helpers/microsoft.js';
import { outboxStandIn } from './helpers/outbox.js';
import { summaryOf } from './helpers/teamsSummary.js';

/**
 * The interactive Teams bot on Gatehouse's own listener, beside the approval page, over the real
 * ApprovalService and state machine, against stand-ins for the Bot Framework's keys, Entra and the Bot
 * Connector on 127.0.0.1. The test plays the outbox: it delivers each request's announce and updates.
 */

const CHANNEL = '19:approvals@thread.tacv2';
const OID = {
  alice: 'aaaaaaaa-0000-0000-0000-00000000000a',
  bob: 'bbbbbbbb-0000-0000-0000-00000000000b',
  carol: 'cccccccc-0000-0000-0000-00000000000c',
  dave: 'dddddddd-0000-0000-0000-00000000000d',
  stranger: 'eeeeeeee-0000-0000-0000-00000000000e',
};
/** Each person's Teams id for this bot, as the Connector's member lookup gives it. */
const TEAMS_ID = {
  alice: '29:1alice-teams-id',
  bob: '29:1bob-teams-id',
  carol: '29:1carol-teams-id',
  dave: '29:1dave-teams-id',
};
const MEMBERS = Object.fromEntries(
  (Object.keys(TEAMS_ID) as (keyof typeof TEAMS_ID)[]).map((who) => [OID[who], TEAMS_ID[who]]),
);
/** alice asks; she is in security too, so only the requester rule keeps her from approving. */
const DIRECTORY: DirectoryPerson[] = [
  { id: 'alice', groups: ['dev', 'security'], teams: { aadObjectId: OID.alice, tenantId: TENANT } },
  { id: 'bob', groups: ['security'], teams: { aadObjectId: OID.bob.toUpperCase(), tenantId: TENANT } },
  { id: 'carol', groups: ['security'], teams: { aadObjectId: OID.carol, tenantId: TENANT } },
  { id: 'dave', groups: ['marketing'], teams: { aadObjectId: OID.dave, tenantId: TENANT } },
];

let botFramework: BotFramework;
let entra: Entra;
let connector: Connector;
let store: ApprovalStore;
let service: ApprovalRuntime;
let conversations: TeamsConversationStore;
let channel: Channel;
let page: ApprovalWeb;
let front: HttpFront;

function botConfig(extra: Record<string, unknown> = {}): TeamsBotChannelConfig {
  return TeamsBotChannelSchema.parse({
    type: 'teams-bot',
    appId: APP_ID,
    appPassword: 'app-secret-value',
    tenantId: TENANT,
    conversations: [{ id: CHANNEL }],
    endpoints: { login: entra.url, openIdMetadata: botFramework.metadata, serviceUrl: connector.url },
    ...extra,
  });
}

/** What the bot logged (warnings and up). */
const logs: Record<string, unknown>[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

function botOn(config: TeamsBotChannelConfig, store = conversations): Channel {
  return createTeamsBotChannel(config, {
    name: 'teams',
    service,
    directory: DIRECTORY,
    conversations: store,
    summarize: (request) => summaryOf(request, front.url),
    logger,
  });
}

beforeAll(async () => {
  botFramework = await startBotFramework();
  entra = await startEntra();
  connector = await startConnector(entra, MEMBERS);
  store = createMemoryStore();
  service = serviceWithoutExecution(store);
  conversations = createMemoryConversationStore();
  const cheap = { ln: 10, r: 8, p: 1 };
  const config = testConfig({
    approvers: {
      accounts: [
        { id: 'carol', groups: ['security'], passwordHash: await hashPassword('carol-pw-1', cheap) },
      ],
    },
  });
  page = createApprovalWeb({ service, config, logger: silentLogger, baseUrl: () => front.url });
  // Gatehouse's own listener, its Host and Origin checks first: the bot's endpoint, then the page.
  front = await startHttpFront({
    config: { ...config, http: { ...config.http, host: '127.0.0.1', port: 0 } },
    deps: {} as FrontDeps,
    serveMcp: false,
    authenticator: createHttpAuthenticator(config.identity, silentLogger),
    status: () => ({}),
    logger: silentLogger,
    routes: async (req, res) => (await channel.routes!(req, res)) || page.routes(req, res),
  });
  channel = botOn(botConfig());
});

afterAll(async () => {
  await front?.close();
  await page?.close();
  await Promise.all([botFramework, entra, connector].map((s) => s?.close()));
});

beforeEach(() => {
  connector.received.length = 0;
  entra.received.length = 0;
});

/** A new request by alice that `quorum` members of security must approve. */
async function newRequest(quorum = 1): Promise<ApprovalRequest> {
  const input = sampleInput({
    caller: { id: 'alice', groups: ['dev', 'security'] },
    requirements: [{ rule: 'fs-writes', approvers: ['group:security'], quorum }],
  });
  const { request } = await store.create(newApprovalRequest(input, new Date()));
  return request;
}

const outbox = outboxStandIn(
  'teams',
  (id) => service.get(id),
  () => front.url,
);
const memos = outbox.memos;

/** The outbox's delivery of the request as it is now; `retry`: the same delivery again. */
const deliver = (id: string, kind: 'announce' | 'update' = 'update', on: Channel = channel, retry = false) =>
  outbox.deliver(id, kind, on, retry);

async function tokenFor(claims: Record<string, unknown> = {}, options?: Parameters<BotFramework['sign']>[1]) {
  return botFramework.sign({ aud: APP_ID, serviceurl: connector.url, ...claims }, options);
}

/** POSTs an activity to the bot's endpoint on Gatehouse's listener. */
async function post(activity: unknown, token?: string) {
  const response = await fetch(`${front.url}/api/teams/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(activity),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, any>) : undefined }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** `who` clicks `verb` on the request's card in Teams. */
async function click(who: keyof typeof OID, verb: string, id: string, data: Record<string, string> = {}) {
  const activity = cardAction(
    verb,
    { approvalId: id, ...data },
    { serviceUrl: connector.url, fromAadObjectId: OID[who] },
  );
  return post(activity, await tokenFor());
}

const cardText = (card: unknown) => JSON.stringify(card);

describe('the Teams bot posts and updates cards', () => {
  it('posts the card to the configured conversation with an Entra client-credentials token', async () => {
    const request = await newRequest();
    const outcome = await deliver(request.id, 'announce');
    expect(outcome.memo).toEqual({ [`activity:${CHANNEL}`]: expect.stringMatching(/^activity-\d+$/) });
    const [form] = entra.forms();
    expect(Object.fromEntries(form!)).toEqual({
      grant_type: 'client_credentials',
      client_id: APP_ID,
      scope: 'https://api.botframework.com/.default',
      client_secret: 'app-secret-value',
    });
    expect(entra.received[0]!.url).toBe(`/${TENANT}/oauth2/v2.0/token`);
    const [posted] = connector.cards();
    expect(posted).toMatchObject({ method: 'POST', conversationId: CHANNEL });
    expect(connector.received[0]!.headers.authorization).toBe(`Bearer ${entra.issued.at(-1)}`);
    expect(adaptiveCardProblems(posted!.card)).toEqual([]);
    expect(cardText(posted!.card)).toContain(`${front.url}/approvals/${request.id}`);
    // The approvers alice's request may be refreshed for: security, not alice herself, by the Teams
    // ids the conversation's members have.
    expect((posted!.card.refresh as { userIds: string[] }).userIds).toEqual([TEAMS_ID.bob, TEAMS_ID.carol]);
  });

  it("names the approvers in the card's refresh by the Teams ids the conversation gives, each looked up once", async () => {
    // bob is a member, carol's lookup fails (503), dave is not in the conversation (404).
    const roster = await startConnector(entra, { [OID.bob]: TEAMS_ID.bob, [OID.carol]: 503 });
    try {
      const endpoints = { login: entra.url, openIdMetadata: botFramework.metadata, serviceUrl: roster.url };
      const bot = botOn(botConfig({ endpoints }));
      const input = sampleInput({
        caller: { id: 'alice', groups: ['dev', 'security'] },
        requirements: [{ rule: 'fs-writes', approvers: ['group:security', 'user:dave'], quorum: 1 }],
      });
      const { request } = await store.create(newApprovalRequest(input, new Date()));
      await deliver(request.id, 'announce', bot);
      const lookups = () =>
        roster.received.filter((r) => r.method === 'GET').map((r) => decodeURIComponent(r.url));
      expect(lookups()).toEqual(
        [OID.bob, OID.carol, OID.dave].map((oid) => `/v3/conversations/${CHANNEL}/members/${oid}`),
      );
      expect(roster.received.every((r) => r.headers.authorization === `Bearer ${entra.issued.at(-1)}`)).toBe(
        true,
      );
      const refreshOf = (card: Record<string, unknown>) => (card.refresh as { userIds: string[] }).userIds;
      // carol by her MRI until a lookup succeeds; dave, who cannot see the card there, not at all.
      expect(refreshOf(roster.cards()[0]!.card)).toEqual([TEAMS_ID.bob, `8:orgid:${OID.carol}`]);
      expect(logs.some((l) => String(l.msg).startsWith('Teams member lookup failed'))).toBe(true);

      // The next card asks again only for carol, whose lookup failed.
      await deliver(request.id, 'update', bot);
      expect(lookups()).toHaveLength(4);
      expect(lookups().at(-1)).toBe(`/v3/conversations/${CHANNEL}/members/${OID.carol}`);
      expect(refreshOf(roster.cards()[1]!.card)).toEqual([TEAMS_ID.bob, `8:orgid:${OID.carol}`]);
    } finally {
      await roster.close();
    }
  });

  it('reuses the token until it expires and replaces the card in place on updates', async () => {
    const request = await newRequest();
    await deliver(request.id, 'announce');
    await deliver(request.id, 'update');
    expect(entra.received).toHaveLength(0);
    const [first, second] = connector.cards();
    expect(second).toMatchObject({
      method: 'PUT',
      conversationId: CHANNEL,
      activityId: memos.get(request.id)![`activity:${CHANNEL}`],
    });
    expect(first!.method).toBe('POST');
  });

  it('429 with Retry-After and 5xx are retryable, and the retry posts once', async () => {
    const request = await newRequest();
    connector.failNext({
      method: 'POST',
      status: 429,
      headers: { 'retry-after': '7' },
      body: { error: { message: 'slow down' } },
    });
    const throttled = await deliver(request.id, 'announce').catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(ChannelDeliveryError);
    expect(throttled).toMatchObject({ retryable: true, retryAfterMs: 7000 });
    expect((throttled as Error).message).toContain('429: slow down');
    connector.failNext({ method: 'POST', status: 503 });
    const retry = () => deliver(request.id, 'announce', channel, true);
    expect(await retry().catch((e: unknown) => e)).toMatchObject({ retryable: true });
    await retry();
    expect(connector.cards().filter((c) => c.method === 'POST')).toHaveLength(3);
    expect(connector.received.map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
    expect(memos.get(request.id)).toEqual({ [`activity:${CHANNEL}`]: expect.any(String) });
  });

  it('a refusal (the bot was removed) is final; a refused token is renewed for the retry', async () => {
    const request = await newRequest();
    connector.failNext({
      method: 'POST',
      status: 403,
      body: { error: { code: 'BotNotInConversationRoster', message: 'not a member' } },
    });
    expect(await deliver(request.id, 'announce').catch((e: unknown) => e)).toMatchObject({
      retryable: false,
    });
    const before = entra.issued.length;
    connector.failNext({ method: 'POST', status: 401 });
    expect(await deliver(request.id, 'announce').catch((e: unknown) => e)).toMatchObject({ retryable: true });
    await deliver(request.id, 'announce', channel, true);
    expect(entra.issued.length).toBe(before + 1);
  });

  it('Entra refusing the credentials is final and names why, never the secret', async () => {
    const refused = botOn(botConfig({ appPassword: WRONG_SECRET }));
    const error = await deliver((await newRequest()).id, 'announce', refused).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: false });
    expect((error as Error).message).toContain('AADSTS7000215');
    expect((error as Error).message).not.toContain(WRONG_SECRET);
    expect(JSON.stringify(logs)).not.toContain(WRONG_SECRET);
  });

  it('with two conversations, a retry after one failed posts only to the other', async () => {
    const two = botOn(botConfig({ conversations: [{ id: CHANNEL }, { id: '19:second@thread.v2' }] }));
    const request = await newRequest();
    connector.failNext(
      { method: 'POST', status: 201, body: { id: 'activity-first' } },
      { method: 'POST', status: 500 },
    );
    expect(await deliver(request.id, 'announce', two).catch((e: unknown) => e)).toMatchObject({
      retryable: true,
    });
    await deliver(request.id, 'announce', two, true);
    // A later update replaces both cards in place.
    await deliver(request.id, 'update', two);
    expect(connector.cards().map((c) => [c.method, c.conversationId])).toEqual([
      ['POST', CHANNEL],
      ['POST', '19:second@thread.v2'],
      ['POST', '19:second@thread.v2'],
      ['PUT', CHANNEL],
      ['PUT', '19:second@thread.v2'],
    ]);
    expect(memos.get(request.id)).toEqual({
      [`activity:${CHANNEL}`]: 'activity-first',
      'activity:19:second@thread.v2': expect.any(String),
    });
  });

  const pem = (file: string) => readFileSync(new URL(`fixtures/teams/${file}`, import.meta.url), 'utf8');
  const withCertificate = (privateKey: string) =>
    botOn(
      TeamsBotChannelSchema.parse({
        ...botConfig(),
        appPassword: undefined,
        certificate: { privateKey, certificate: pem('test-bot.cert.pem') },
      }),
    );

  it('authenticates with a certificate: a client assertion signed by its key, named by its thumbprint', async () => {
    await deliver((await newRequest()).id, 'announce', withCertificate(pem('test-bot.key.pem')));
    const form = entra.forms().at(-1)!;
    expect(form.get('client_secret')).toBeNull();
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = form.get('client_assertion')!;
    const x509 = new X509Certificate(pem('test-bot.cert.pem'));
    const { payload } = await jwtVerify(assertion, x509.publicKey, {
      issuer: APP_ID,
      subject: APP_ID,
      audience: `${entra.url}/${TENANT}/oauth2/v2.0/token`,
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect(decodeProtectedHeader(assertion).x5t).toBe(
      createHash('sha1').update(x509.raw).digest('base64url'),
    );
  });

  it('a certificate that does not match its key is refused when the channel is built', () => {
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    expect(() => withCertificate(otherKey)).toThrow(
      /certificate: the private key does not belong to the certificate/,
    );
  });
});

describe('the bot learns where conversations are from verified installs', () => {
  const install = (conversationId: string, tenantId = TENANT, serviceUrl = connector.url) =>
    teamsActivity(
      'conversationUpdate',
      { membersAdded: [{ id: `28:${APP_ID}` }] },
      { serviceUrl, conversationId, tenantId },
    );

  it('stores the reference of an install in its tenant, forgets it on removal, ignores other tenants', async () => {
    const store = createMemoryConversationStore();
    const via = async (activity: Record<string, unknown>) =>
      (await post(activity, await tokenFor({ serviceurl: activity.serviceUrl }))).status;
    const usual = channel;
    channel = botOn(botConfig(), store);
    try {
      expect(await via(install('19:team@thread.tacv2'))).toBe(200);
      expect(await store.list(APP_ID)).toEqual([
        expect.objectContaining({
          conversationId: '19:team@thread.tacv2',
          tenantId: TENANT,
          serviceUrl: connector.url,
        }),
      ]);
      expect(await via(install('19:elsewhere@thread.tacv2', OTHER_TENANT))).toBe(200);
      expect((await store.list(APP_ID)).map((r) => r.conversationId)).toEqual(['19:team@thread.tacv2']);
      const removal = teamsActivity(
        'installationUpdate',
        { action: 'remove' },
        { serviceUrl: connector.url, conversationId: '19:team@thread.tacv2' },
      );
      expect(await via(removal)).toBe(200);
      expect(await store.list(APP_ID)).toEqual([]);
    } finally {
      channel = usual;
    }
  });

  it('posts to a configured conversation through the serviceUrl learned at install', async () => {
    const store = createMemoryConversationStore([
      {
        appId: APP_ID,
        conversationId: CHANNEL,
        tenantId: TENANT,
        serviceUrl: connector.url,
        updatedAt: new Date().toISOString(),
      },
    ]);
    const noDefault = botOn(
      botConfig({ endpoints: { login: entra.url, openIdMetadata: botFramework.metadata }, cloud: 'china' }),
      store,
    );
    await deliver((await newRequest()).id, 'announce', noDefault);
    expect(connector.cards()).toHaveLength(1);
    const unknown = botOn(
      botConfig({ endpoints: { login: entra.url, openIdMetadata: botFramework.metadata }, cloud: 'china' }),
      createMemoryConversationStore(),
    );
    expect(
      await deliver((await newRequest()).id, 'announce', unknown).catch((e: unknown) => e),
    ).toMatchObject({
      retryable: false,
      message: expect.stringContaining('no serviceUrl is known'),
    });
  });
});

describe('every activity is authenticated before anything is read', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const stranger = async () => (await generateKeyPair('RS256')).privateKey;
  const forged: [string, () => Promise<string | undefined>, string, Record<string, string>?][] = [
    ['no token', async () => undefined, 'no bearer token'],
    [
      'a token for another bot',
      () => tokenFor({ aud: '00000000-0000-0000-0000-0000000000ff' }),
      "token's aud claim",
    ],
    [
      'a token from another issuer',
      () => tokenFor({ iss: 'https://sts.windows.net/evil/' }),
      "token's iss claim",
    ],
    ['an expired token', () => tokenFor({ exp: now() - 600 }), 'the token has expired'],
    ['a token not yet valid', () => tokenFor({ nbf: now() + 900 }), "token's nbf claim"],
    [
      'a token signed by an unknown key',
      async () => tokenFor({}, { kid: 'not-published', key: await stranger() }),
      'no published key has kid "not-published"',
    ],
    [
      'a token signed by another key under the published kid',
      async () => tokenFor({}, { key: await stranger() }),
      'the signature does not verify',
    ],
    [
      'a token for another serviceUrl',
      () => tokenFor({ serviceurl: 'https://smba.example.net/emea/' }),
      "serviceUrl is not the token's serviceurl claim",
    ],
    ['a token without a serviceurl claim', () => tokenFor({ serviceurl: undefined }), 'no serviceurl claim'],
    [
      'an activity from another channel',
      () => tokenFor(),
      'channel "webchat" is not Teams',
      { channelId: 'webchat' },
    ],
    [
      'an activity from a channel the key is not endorsed for',
      () => tokenFor(),
      'not endorsed for channel "slack"',
      { channelId: 'slack' },
    ],
  ];
  for (const [what, token, reason, change] of forged) {
    it(`${what}: 401, and nothing changes`, async () => {
      const request = await newRequest();
      const before = JSON.stringify(await store.list());
      const activity = {
        ...cardAction(
          'approve',
          { approvalId: request.id },
          { serviceUrl: connector.url, fromAadObjectId: OID.bob },
        ),
        ...change,
      };
      logs.length = 0;
      const answer = await post(activity, await token());
      expect(answer.status).toBe(401);
      expect(JSON.stringify(await store.list())).toBe(before);
      expect(connector.received).toHaveLength(0);
      expect(logs).toContainEqual(
        expect.objectContaining({ msg: 'Teams activity refused', reason: expect.stringContaining(reason) }),
      );
    });
  }

  it('a valid token with a well-formed activity is accepted (the table above fails only for its reason)', async () => {
    const request = await newRequest();
    expect((await click('dave', 'refresh', request.id)).status).toBe(200);
  });

  it('an unreadable body of an authenticated request is 400, an oversized one 413', async () => {
    const token = await tokenFor();
    const raw = (body: string) =>
      fetch(`${front.url}/api/teams/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
    expect((await raw('{not json')).status).toBe(400);
    expect((await raw(JSON.stringify({ type: 'message' }))).status).toBe(400);
    expect((await raw(JSON.stringify({ pad: 'x'.repeat(300_000) }))).status).toBe(413);
    expect((await fetch(`${front.url}/api/teams/messages`)).status).toBe(405);
  });
});

describe('decisions clicked in Teams', () => {
  it('bob approves: the invoke answers with the outcome, and the update replaces the card for everyone', async () => {
    const request = await newRequest();
    await deliver(request.id, 'announce');
    const answer = await click('bob', 'approve', request.id);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(cardText(answer.json!.value)).toContain('You approved this request.');
    expect(adaptiveCardProblems(answer.json!.value)).toEqual([]);
    const approved = (await service.get(request.id))!;
    expect(approved.state).toBe('approved');
    expect(approved.decisions).toEqual([
      expect.objectContaining({ approver: { id: 'bob', groups: ['security'] }, channel: 'teams' }),
    ]);

    // The call runs; the outbox delivers the change: the same message now shows the outcome, buttonless.
    await store.transition(request.id, 'approved', (r) => startExecution(r, new Date()));
    await store.transition(request.id, 'executing', (r) =>
      finishExecution(r, { result: { content: [{ type: 'text', text: 'written' }] } }, new Date()),
    );
    await deliver(request.id, 'update');
    const [posted, replaced] = connector.cards();
    expect(replaced).toMatchObject({
      method: 'PUT',
      activityId: memos.get(request.id)![`activity:${CHANNEL}`],
    });
    expect(posted!.activityId).toBeUndefined();
    expect(cardText(replaced!.card)).toContain('Approved and run');
    expect(cardText(replaced!.card)).not.toContain('Action.Execute');
    expect(replaced!.card.refresh).toBeUndefined();
    expect(adaptiveCardProblems(replaced!.card)).toEqual([]);
  });

  it('bob rejects with a reason; without one nothing is recorded', async () => {
    const request = await newRequest();
    const bare = await click('bob', 'reject', request.id);
    expect(cardText(bare.json!.value)).toContain('a rejection needs a reason');
    expect((await service.get(request.id))!.state).toBe('pending');
    const answer = await click('bob', 'reject', request.id, { reason: 'wrong file' });
    expect(cardText(answer.json!.value)).toContain('You rejected this request.');
    const rejected = (await service.get(request.id))!;
    expect(rejected.state).toBe('rejected');
    expect(rejected.decisions[0]).toMatchObject({
      decision: 'reject',
      reason: 'wrong file',
      channel: 'teams',
    });
  });

  it('the requester clicking Approve is refused on the card, and nothing changes', async () => {
    const request = await newRequest();
    const before = JSON.stringify(await store.get(request.id));
    const answer = await click('alice', 'approve', request.id);
    expect(answer.status).toBe(200);
    expect(cardText(answer.json!.value)).toContain('Not recorded: you made this request');
    expect(cardText(answer.json!.value)).not.toContain('"verb":"approve"');
    expect(JSON.stringify(await store.get(request.id))).toBe(before);
  });

  it('someone not listed, or not linked to an approver, is refused; a finished request refuses everyone', async () => {
    const request = await newRequest();
    expect(cardText((await click('dave', 'approve', request.id)).json!.value)).toContain(
      'you are not an approver',
    );
    expect(cardText((await click('stranger', 'approve', request.id)).json!.value)).toContain(
      'not linked to a Gatehouse approver',
    );
    // bob's account, but in another tenant: not bob.
    const elsewhere = cardAction(
      'approve',
      { approvalId: request.id },
      {
        serviceUrl: connector.url,
        fromAadObjectId: OID.bob,
        tenantId: OTHER_TENANT,
      },
    );
    expect(cardText((await post(elsewhere, await tokenFor())).json!.value)).toContain('not linked');
    expect((await service.get(request.id))!.decisions).toEqual([]);
    await click('bob', 'reject', request.id, { reason: 'no' });
    expect(cardText((await click('carol', 'approve', request.id)).json!.value)).toContain(
      'no longer takes decisions',
    );
    expect((await service.get(request.id))!.decisions).toHaveLength(1);
  });

  it('refreshing shows the buttons to an approver who may decide, and not to the requester', async () => {
    const request = await newRequest();
    const forBob = await click('bob', 'refresh', request.id);
    expect(cardText(forBob.json!.value)).toContain('"verb":"approve"');
    const forAlice = await click('alice', 'refresh', request.id);
    expect(cardText(forAlice.json!.value)).not.toContain('"verb":"approve"');
    expect((await service.get(request.id))!.decisions).toEqual([]);
  });

  it('a quorum of two through two people in Teams', async () => {
    const request = await newRequest(2);
    await click('bob', 'approve', request.id);
    const half = (await service.get(request.id))!;
    expect(half.state).toBe('pending');
    await deliver(request.id, 'announce');
    expect(cardText(connector.cards().at(-1)!.card)).toContain('Approved so far (1 of 2)');
    // bob twice is still one approver.
    expect(cardText((await click('bob', 'approve', request.id)).json!.value)).toContain('already decided');
    await click('carol', 'approve', request.id);
    const done = (await service.get(request.id))!;
    expect(done.state).toBe('approved');
    expect(done.decisions.map((d) => [d.approver.id, d.channel])).toEqual([
      ['bob', 'teams'],
      ['carol', 'teams'],
    ]);
  });

  it('one approval in Teams and one on the page count together', async () => {
    const request = await newRequest(2);
    await click('bob', 'approve', request.id);
    const basic = Buffer.from('carol:carol-pw-1').toString('base64');
    const issued = await fetch(`${front.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'test' }),
    });
    const { token } = (await issued.json()) as { token: string };
    const decided = await fetch(`${front.url}/api/approvals/${request.id}/decision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(decided.status).toBe(200);
    const done = (await service.get(request.id))!;
    expect(done.state).toBe('approved');
    expect(done.decisions.map((d) => [d.approver.id, d.channel])).toEqual([
      ['bob', 'teams'],
      ['carol', 'api'],
    ]);
  });

  it("learns an approver's Teams id from their click, and names them by it on the next card", async () => {
    const request = await newRequest();
    const click = cardAction(
      'refresh',
      { approvalId: request.id },
      { serviceUrl: connector.url, fromAadObjectId: OID.carol },
    );
    const answer = await post(
      { ...click, from: { id: '29:1carol-from-her-click', aadObjectId: OID.carol } },
      await tokenFor(),
    );
    expect(answer.status).toBe(200);
    const next = await newRequest();
    await deliver(next.id, 'announce');
    const card = connector.cards().at(-1)!.card;
    // bob's is the id his clicks above came with; carol's the one of her click, not the lookup's.
    const [bob, carol] = (card.refresh as { userIds: string[] }).userIds;
    expect(bob).toMatch(/^29:/);
    expect(carol).toBe('29:1carol-from-her-click');
    expect(connector.received.filter((r) => r.method === 'GET')).toEqual([]);
  });
});
