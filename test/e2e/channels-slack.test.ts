import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, storyOf } from '../helpers/audit.js';
import { blockKitProblems, plainTexts } from '../helpers/blockKit.js';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { ALICE, BOB, expectPending, gatedGatehouse, reaches } from '../helpers/gated.js';
import { eventually } from '../helpers/processes.js';
import {
  blockAction,
  BOT_TOKEN,
  CONVERSATION,
  SIGNING_SECRET,
  signedInteraction,
  startSlack,
  TEAM,
  type FakeSlack,
} from '../helpers/slack.js';

/**
 * Slack as Gatehouse runs it: configured as a channel, its message posted by the outbox through the
 * Web API, clicks POSTed (signed) to Gatehouse's own listener, the call executed once, the message
 * updated in place with the outcome and the requester mentioned in its thread. A stand-in on
 * 127.0.0.1 plays Slack's Web API.
 */
const USER = { alice: 'U0ALICE01', bob: 'U0BOB0001' };

const slack: FakeSlack = await startSlack();
afterAll(() => slack.close());

const scratch = scratchDir('channels-slack');
const gated = gatedGatehouse(scratch, 'slack', {
  approvals: {
    store: `${scratch.dir}/slack-store.json`,
    sweepIntervalMs: 100,
    channels: {
      'ops-slack': {
        type: 'slack',
        botToken: BOT_TOKEN,
        signingSecret: SIGNING_SECRET,
        channels: [CONVERSATION],
        apiUrl: slack.apiUrl,
      },
    },
    defaultChannels: ['page', 'ops-slack'],
    delivery: { initialBackoffMs: 50 },
  },
  approvers: {
    directory: [
      { id: ALICE.id, groups: ALICE.groups, slack: { userId: USER.alice, teamId: TEAM } },
      { id: BOB.id, groups: BOB.groups, slack: { userId: USER.bob, teamId: TEAM } },
    ],
  },
});

/** `who` clicks Approve on the message in Slack: the signed request Slack would POST. */
async function approveAs(who: keyof typeof USER, approvalId: string) {
  const { headers, body } = signedInteraction(
    blockAction('gatehouse_approve', approvalId, { userId: USER[who] }),
  );
  const response = await fetch(`${gated.url}/api/slack/interactions`, { method: 'POST', headers, body });
  return response.status;
}

const notices = (who: keyof typeof USER) =>
  slack.of('chat.postEphemeral').filter((c) => c.args.user === USER[who]);

describe('a gated call approved in Slack', () => {
  let approvalId: string;

  beforeAll(async () => {
    approvalId = expectPending(await gated.call('rec__deploy', { build: 'b-slack' }), 'deploy').approvalId;
  });

  it('is announced to the configured conversation with a Block Kit message', async () => {
    await eventually(() => slack.of('chat.postMessage').length > 0, 'the message posted');
    const [posted] = slack.of('chat.postMessage');
    expect(posted!.args.channel).toBe(CONVERSATION);
    expect(posted!.token).toBe(BOT_TOKEN);
    expect(JSON.stringify(posted!.args.blocks)).toContain(approvalId);
    expect(blockKitProblems({ text: posted!.args.text, blocks: posted!.args.blocks })).toEqual([]);
  });

  it("refuses the requester, then takes bob's approval, runs the call once and updates the message in place", async () => {
    expect(await approveAs('alice', approvalId)).toBe(200);
    await eventually(() => notices('alice').length === 1, 'alice told her click did not count');
    expect(notices('alice')[0]!.args.text).toContain('you made this request');
    expect((await gated.approvals.get(approvalId))!.state).toBe('pending');

    expect(await approveAs('bob', approvalId)).toBe(200);
    await reaches(gated.approvals, approvalId, 'executed');
    expect(resultText(await gated.call('rec__deploy', { build: 'b-slack' }))).toBe('deployed b-slack');
    const decisions = (await gated.approvals.get(approvalId))!.decisions;
    expect(decisions).toMatchObject([{ approver: { id: 'bob' }, decision: 'approve', channel: 'ops-slack' }]);

    // The outbox replaces the message it posted (same ts) once the call has run, and tells alice in its thread.
    await eventually(
      () =>
        slack.of('chat.update').some((c) => plainTexts({ blocks: c.args.blocks })[0] === 'Approved and run'),
      'the message updated with the outcome',
    );
    await eventually(
      () => slack.of('chat.postMessage').some((c) => c.args.thread_ts),
      'the requester told in the thread',
    );
    // One message: every update and the reply's thread are the ts the first post was given.
    const reply = slack.of('chat.postMessage').find((c) => c.args.thread_ts)!;
    expect(reply.args.text).toContain(`<@${USER.alice}>`);
    expect(new Set(slack.of('chat.update').map((u) => `${u.args.channel} ${u.args.ts}`))).toEqual(
      new Set([`${CONVERSATION} ${reply.args.thread_ts}`]),
    );
    expect(slack.of('chat.postMessage').filter((c) => !c.args.thread_ts)).toHaveLength(1);
  });

  it('leaves its story in the audit trail: the refused self-approval, the decision through Slack, the delivery', async () => {
    await eventually(
      async () => storyOf(await auditEvents(gated.setUp.audit), approvalId).includes('call.executed'),
      'the execution recorded',
    );
    const events = await auditEvents(gated.setUp.audit);
    expect(storyOf(events, approvalId)).toEqual(
      expect.arrayContaining(['approval.refused', 'approval.decided', 'approval.delivered']),
    );
    expect(events.find((e) => e.event === 'approval.decided' && e.approvalId === approvalId)).toMatchObject({
      channel: 'ops-slack',
      approver: { id: 'bob' },
    });
  });

  it("keeps Slack's secrets out of the log and the store", async () => {
    const log = await readFile(gated.setUp.logFile, 'utf8');
    expect(log).toContain('Slack decision recorded');
    const store = await readFile(`${scratch.dir}/slack-store.json`, 'utf8');
    for (const secret of [BOT_TOKEN, SIGNING_SECRET]) {
      expect(log).not.toContain(secret);
      expect(store).not.toContain(secret);
    }
  });
});
