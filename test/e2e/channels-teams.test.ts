import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, storyOf } from '../helpers/audit.js';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { ALICE, BOB, expectPending, gatedGatehouse, reaches } from '../helpers/gated.js';
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
} from '../helpers/microsoft.js';
import { eventually } from '../helpers/processes.js';

/**
 * The Teams bot as Gatehouse runs it: configured as a channel, its card delivered by the outbox to the
 * Bot Connector, a click on Approve posted to Gatehouse's own listener, the call executed once, and
 * the card updated in place with the outcome. Stand-ins on 127.0.0.1 play the Bot Framework's keys,
 * Entra and the Bot Connector.
 */
const CONVERSATION = '19:approvals@thread.tacv2';
const OID = { alice: 'aaaaaaaa-0000-0000-0000-00000000000a', bob: 'bbbbbbbb-0000-0000-0000-00000000000b' };

const botFramework: BotFramework = await startBotFramework();
const entra: Entra = await startEntra();
const connector: Connector = await startConnector(entra);
afterAll(async () => {
  await Promise.all([botFramework.close(), entra.close(), connector.close()]);
});

const scratch = scratchDir('channels-teams');
const gated = gatedGatehouse(scratch, 'teams', {
  approvals: {
    store: `${scratch.dir}/teams-store.json`,
    sweepIntervalMs: 100,
    channels: {
      ops: {
        type: 'teams-bot',
        appId: APP_ID,
        appPassword: 'app-secret-value',
        tenantId: TENANT,
        conversations: [{ id: CONVERSATION }],
        endpoints: { login: entra.url, openIdMetadata: botFramework.metadata, serviceUrl: connector.url },
      },
    },
    defaultChannels: ['page', 'ops'],
    delivery: { initialBackoffMs: 50 },
  },
  approvers: {
    directory: [
      { id: ALICE.id, groups: ALICE.groups, teams: { aadObjectId: OID.alice, tenantId: TENANT } },
      { id: BOB.id, groups: BOB.groups, teams: { aadObjectId: OID.bob, tenantId: TENANT } },
    ],
  },
});

/** `who` clicks `verb` on the card in Teams: the activity Teams would post to the bot. */
async function click(who: keyof typeof OID, verb: string, approvalId: string) {
  const token = await botFramework.sign({ aud: APP_ID, serviceurl: connector.url });
  const activity = cardAction(verb, { approvalId }, { serviceUrl: connector.url, fromAadObjectId: OID[who] });
  const response = await fetch(`${gated.url}/api/teams/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(activity),
  });
  return { status: response.status, text: await response.text() };
}

describe('a gated call approved in Teams', () => {
  let approvalId: string;

  beforeAll(async () => {
    approvalId = expectPending(await gated.call('rec__deploy', { build: 'b-teams' }), 'deploy').approvalId;
  });

  it('is announced to the configured conversation with a card', async () => {
    await eventually(() => connector.cards().some((c) => c.method === 'POST'), 'the card posted');
    const posted = connector.cards().find((c) => c.method === 'POST')!;
    expect(posted.conversationId).toBe(CONVERSATION);
    expect(JSON.stringify(posted.card)).toContain(approvalId);
  });

  it('refuses the requester, then takes bob\u2019s approval, runs the call once and updates the card in place', async () => {
    const byAlice = await click('alice', 'approve', approvalId);
    expect(byAlice.status).toBe(200);
    expect((await gated.approvals.get(approvalId))!.state).toBe('pending');

    const byBob = await click('bob', 'approve', approvalId);
    expect(byBob.status).toBe(200);
    await reaches(gated.approvals, approvalId, 'executed');
    expect(resultText(await gated.call('rec__deploy', { build: 'b-teams' }))).toBe('deployed b-teams');
    const decisions = (await gated.approvals.get(approvalId))!.decisions;
    expect(decisions).toMatchObject([{ approver: { id: 'bob' }, decision: 'approve', channel: 'ops' }]);

    // The outbox replaces the card it posted (same activity), once the call has run: no second card.
    await eventually(
      () => connector.cards().some((c) => c.method === 'PUT' && /executed/i.test(JSON.stringify(c.card))),
      'the card updated with the outcome',
    );
    const updates = connector.cards().filter((c) => c.method === 'PUT');
    expect(new Set(updates.map((u) => `${u.conversationId} ${u.activityId}`))).toEqual(
      new Set([`${CONVERSATION} activity-1`]),
    );
    expect(connector.cards().filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it('leaves its story in the audit trail: the refused self-approval, the decision through Teams, the delivery', async () => {
    await eventually(
      async () => storyOf(await auditEvents(gated.setUp.audit), approvalId).includes('call.executed'),
      'the execution recorded',
    );
    const events = await auditEvents(gated.setUp.audit);
    const story = storyOf(events, approvalId);
    expect(story).toEqual(
      expect.arrayContaining(['approval.refused', 'approval.decided', 'approval.delivered']),
    );
    expect(events.find((e) => e.event === 'approval.decided' && e.approvalId === approvalId)).toMatchObject({
      channel: 'ops',
      approver: { id: 'bob' },
    });
  });
});
