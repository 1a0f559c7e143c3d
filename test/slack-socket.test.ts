import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { DirectoryEntry } from '../src/approvals/channels/config.js';
import { createDirectory } from '../src/approvals/channels/directory.js';
import { createSlackChannel, type SlackChannel } from '../src/approvals/channels/slack/channel.js';
import { SlackChannelSchema } from '../src/approvals/channels/slack/config.js';
import type { ApprovalRequest } from '../src/approvals/request.js';
import type { ApprovalRuntime } from '../src/approvals/service.js';
import { newApprovalRequest } from '../src/approvals/states.js';
import { createMemoryStore, type ApprovalStore } from '../src/store/index.js';
import { sampleInput, serviceWithoutExecution } from './helpers/approvals.js';
import { eventually } from './helpers/processes.js';
import {
  APP_TOKEN,
  blockAction,
  BOT_TOKEN,
  startSlack,
  TEAM,
  triggerId,
  viewSubmission,
  type FakeSlack,
} from './helpers/slack.js';
import { summaryOf } from './helpers/teamsSummary.js';

/**
 * The Slack channel in Socket Mode, against a stand-in Slack: apps.connections.open with the app-level
 * token gives the WebSocket URL of a local server that speaks the Socket Mode envelope (hello, events
 * with envelope ids, acknowledgements, `disconnect`). No HTTP endpoint is involved: Gatehouse connects
 * out, so it needs no public URL.
 */

const USER = { alice: 'U0ALICE01', bob: 'U0BOB0001', erin: 'W0ERIN001', stranger: 'U0NOBODY1' };
const ORG = 'E0GATEORG';
const DIRECTORY: DirectoryEntry[] = [
  { id: 'alice', groups: ['dev', 'security'], slack: { userId: USER.alice, teamId: TEAM } },
  { id: 'bob', groups: ['security'], slack: { userId: USER.bob, teamId: TEAM } },
  { id: 'erin', groups: ['security'], slack: { userId: USER.erin, enterpriseId: ORG } },
];

let slack: FakeSlack;
let store: ApprovalStore;
let service: ApprovalRuntime;
let channel: SlackChannel;
/** Slack's clients log to the console unless given a logger: on stdio that is where MCP goes. */
const consoleCalls: MockInstance[] = [];
const logs: Record<string, unknown>[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

function socketChannel(appToken = APP_TOKEN): SlackChannel {
  return createSlackChannel(
    SlackChannelSchema.parse({
      type: 'slack',
      transport: 'socket',
      botToken: BOT_TOKEN,
      appToken,
      channels: ['C0APPROVALS'],
      apiUrl: slack.apiUrl,
    }),
    {
      name: 'slack-socket',
      service,
      directory: createDirectory({ directory: DIRECTORY, accounts: [] }),
      people: DIRECTORY,
      summarize: (request) => summaryOf(request, 'https://gatehouse.example.com'),
      logger,
      // Reconnects 3 s after a drop instead of 5 (the unit of the client's reconnection delay).
      socket: { clientPingTimeoutMs: 3_000 },
    },
  );
}

beforeAll(async () => {
  for (const method of ['debug', 'info', 'log', 'warn', 'error'] as const) {
    consoleCalls.push(vi.spyOn(console, method));
  }
  slack = await startSlack();
  store = createMemoryStore();
  service = serviceWithoutExecution(store);
  channel = socketChannel();
  await channel.ready();
});

afterAll(async () => {
  await channel?.close?.();
  await slack?.close();
});

beforeEach(() => {
  logs.length = 0;
});

async function newRequest(): Promise<ApprovalRequest> {
  const input = sampleInput({
    caller: { id: 'alice', groups: ['dev', 'security'] },
    requirements: [{ rule: 'fs-writes', approvers: ['group:security'], quorum: 1 }],
  });
  return (await store.create(newApprovalRequest(input, new Date()))).request;
}

const told = (userId: string) =>
  slack
    .of('chat.postEphemeral')
    .filter((c) => c.args.user === userId)
    .map((c) => String(c.args.text));

describe('Slack in Socket Mode', () => {
  it('connects with the app-level token through apps.connections.open, and serves no HTTP route', () => {
    const open = slack.of('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]!.token).toBe(APP_TOKEN);
    expect(slack.connections()).toBe(1);
    expect(channel.routes).toBeUndefined();
  });

  it('acknowledges a click by its envelope id, then decides', async () => {
    const request = await newRequest();
    const ack = await slack.send(
      blockAction('gatehouse_approve', request.id, { userId: USER.bob }),
      'env-approve-1',
    );
    expect(ack).toEqual({ envelope_id: 'env-approve-1', payload: {} });
    await eventually(() => told(USER.bob).length === 1, 'bob told');
    expect(told(USER.bob)).toEqual(['You approved this request.']);
    expect((await service.get(request.id))!.decisions).toEqual([
      expect.objectContaining({ approver: { id: 'bob', groups: ['security'] }, channel: 'slack-socket' }),
    ]);
  });

  it('takes a click of an app deployed to a whole Enterprise organization (team null) as its member', async () => {
    const request = await newRequest();
    await slack.send(
      blockAction('gatehouse_approve', request.id, { userId: USER.erin, enterpriseId: ORG, orgWide: true }),
    );
    await eventually(() => told(USER.erin).length === 1, 'erin told');
    expect(told(USER.erin)).toEqual(['You approved this request.']);
    expect((await service.get(request.id))!.decisions).toEqual([
      expect.objectContaining({ approver: { id: 'erin', groups: ['security'] }, channel: 'slack-socket' }),
    ]);
  });

  it("answers a modal's missing reason in the acknowledgement, and decides a good one", async () => {
    const request = await newRequest();
    const context = JSON.stringify({ approvalId: request.id, channelId: 'C0APPROVALS' });
    const empty = await slack.send(viewSubmission(context, '', { userId: USER.bob }));
    expect(empty.payload).toEqual({
      response_action: 'errors',
      errors: { reason: 'A rejection needs a reason of at most 1000 characters.' },
    });
    expect((await service.get(request.id))!.decisions).toEqual([]);
    const ok = await slack.send(viewSubmission(context, 'not today', { userId: USER.bob }));
    expect(ok.payload).toEqual({});
    await eventually(async () => (await service.get(request.id))!.state === 'rejected', 'rejected');
    expect((await service.get(request.id))!.decisions[0]).toMatchObject({
      reason: 'not today',
      channel: 'slack-socket',
    });
  });

  it('an envelope Slack sends again is acknowledged again and processed once', async () => {
    const request = await newRequest();
    const click = blockAction(
      'gatehouse_approve',
      request.id,
      { userId: USER.alice },
      { trigger: triggerId() },
    );
    await slack.send(click, 'env-twice');
    await eventually(() => told(USER.alice).length === 1, 'alice told');
    expect(await slack.send(click, 'env-twice')).toEqual({ envelope_id: 'env-twice', payload: {} });
    expect(logs).toContainEqual(
      expect.objectContaining({ msg: 'Slack interaction refused', seen: 'replayed' }),
    );
    expect(told(USER.alice)).toEqual([
      'Not recorded: you made this request, so another approver must decide.',
    ]);
    expect((await service.get(request.id))!.decisions).toEqual([]);
  });

  it('a click from an account not in the directory is acknowledged and decides nothing', async () => {
    const request = await newRequest();
    await slack.send(blockAction('gatehouse_approve', request.id, { userId: USER.stranger }));
    await eventually(() => told(USER.stranger).length === 1, 'the stranger told');
    expect(told(USER.stranger)[0]).toContain('not linked to a Gatehouse approver');
    expect((await service.get(request.id))!.decisions).toEqual([]);
  });

  it('reconnects with a fresh URL when Slack says `disconnect`, and takes clicks on the new connection', async () => {
    const opened = slack.of('apps.connections.open').length;
    slack.disconnect('refresh_requested');
    await slack.connected(2);
    expect(slack.of('apps.connections.open').length).toBe(opened + 1);
    const request = await newRequest();
    const ack = await slack.send(
      blockAction('gatehouse_approve', request.id, { userId: USER.bob }),
      'env-after',
    );
    expect(ack.envelope_id).toBe('env-after');
    await eventually(
      async () => (await service.get(request.id))!.state === 'approved',
      'approved after the reconnect',
    );
  });

  it('an app-level token Slack refuses stops the connection with an error in the log, never the token', async () => {
    const refused = socketChannel('xapp-1-A0GATEHOUSE-revoked');
    await expect(refused.ready()).rejects.toThrow(/invalid_auth/);
    const error = logs.find(
      (l) => l.msg === 'Slack Socket Mode could not connect; clicks in Slack are not received',
    );
    expect(error).toBeDefined();
    expect(JSON.stringify(logs)).not.toContain('revoked');
    await refused.close?.();
  });

  it("wrote nothing to the console through all of the above: Slack's clients log through Gatehouse", () => {
    expect(consoleCalls.flatMap((spy) => spy.mock.calls)).toEqual([]);
    expect(logs.length + slack.calls.length).toBeGreaterThan(0);
  });
});
