import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChannelDeliveryError, type Channel } from '../src/approvals/channels/channel.js';
import type { ApprovalSummary } from '../src/approvals/channels/summary.js';
import { TeamsWorkflowChannelSchema } from '../src/approvals/channels/teams/config.js';
import { adaptiveCardProblems } from '../src/approvals/channels/teams/schemas.js';
import { createTeamsWorkflowChannel } from '../src/approvals/channels/teams/workflow.js';
import { silentLogger } from '../src/log.js';
import { startWorkflow, type FakeService } from './helpers/microsoft.js';
import { sampleSummary } from './helpers/teamsSummary.js';

/**
 * Teams through a Workflows webhook, against a stand-in for the workflow's trigger URL on 127.0.0.1:
 * the envelope it expects, link-only cards, one follow-up card at the end, and its refusals.
 */

let workflow: FakeService & { trigger: string };
let channel: Channel;

beforeAll(async () => {
  workflow = await startWorkflow();
  channel = createTeamsWorkflowChannel(
    TeamsWorkflowChannelSchema.parse({ type: 'teams-workflow', url: workflow.trigger }),
    {
      name: 'teams-workflow',
      logger: silentLogger,
    },
  );
});

afterAll(() => workflow?.close());

beforeEach(() => {
  workflow.received.length = 0;
});

let n = 0;
const deliver = (summary: ApprovalSummary, kind: 'announce' | 'update', memo: Record<string, string> = {}) =>
  channel.deliver(
    { deliveryId: `d-${++n}`, kind, event: eventOf(kind, summary), attempt: 1, summary, memo },
    AbortSignal.timeout(10_000),
  );

/** The event a delivery of this kind tells: the request, or how it ended. */
const eventOf = (kind: 'announce' | 'update', summary: ApprovalSummary) => ({
  name: kind === 'announce' ? ('approval.requested' as const) : ('call.executed' as const),
  at: summary.createdAt,
});

const posted = () => workflow.received.map((r) => JSON.parse(r.body) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the Teams Workflows channel', () => {
  it('posts the card in the envelope the workflow trigger expects, with a link to decide on the page', async () => {
    const summary = sampleSummary();
    const outcome = await deliver(summary, 'announce');
    expect(outcome.target).toBe(new URL(workflow.trigger).host);
    expect(workflow.received[0]).toMatchObject({
      method: 'POST',
      url: new URL(workflow.trigger).pathname + new URL(workflow.trigger).search,
    });
    expect(workflow.received[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    const [envelope] = posted();
    expect(envelope).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: expect.any(Object),
        },
      ],
    });
    const card = envelope!.attachments[0].content;
    expect(adaptiveCardProblems(card)).toEqual([]);
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Approve or reject in Gatehouse', url: summary.url },
    ]);
    expect(JSON.stringify(card)).not.toContain('Action.Execute');
  });

  it('stays within the size limit for huge arguments', async () => {
    const text = 'x'.repeat(100_000);
    await deliver(
      sampleSummary({ arguments: { value: { text }, display: text, redacted: [], cut: false } }),
      'announce',
    );
    expect(Buffer.byteLength(workflow.received[0]!.body)).toBeLessThan(28 * 1024);
  });

  it('posts one follow-up card when the request has ended, and nothing for the steps before', async () => {
    const pendingUpdate = await deliver(
      sampleSummary({ quorum: 2, approvals: [{ id: 'bob', at: '2026-11-30T16:01:00.000Z' }] }),
      'update',
    );
    expect(workflow.received).toHaveLength(0);
    const ended = sampleSummary({
      state: 'rejected',
      rejection: { by: 'bob', at: '2026-11-30T16:02:00.000Z', reason: 'wrong file' },
      outcome: { kind: 'rejected', text: 'rejected by bob: wrong file' },
    });
    const first = await deliver(ended, 'update', pendingUpdate.memo);
    expect(first.memo).toEqual({ reported: 'rejected' });
    await deliver(ended, 'update', first.memo);
    expect(workflow.received).toHaveLength(1);
    const card = posted()[0]!.attachments[0].content;
    expect(adaptiveCardProblems(card)).toEqual([]);
    expect(JSON.stringify(card)).toContain('Rejected');
    expect(JSON.stringify(card)).toContain('wrong file');
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open in Gatehouse', url: ended.url }]);
  });

  it('429 with Retry-After and 5xx are retryable, other refusals final; the URL signature never shows', async () => {
    const attempts: [number, Record<string, string>, boolean, number | undefined][] = [
      [429, { 'retry-after': '30' }, true, 30_000],
      [500, {}, true, undefined],
      [502, {}, true, undefined],
      [400, {}, false, undefined],
      [404, {}, false, undefined],
    ];
    for (const [status, headers, retryable, retryAfterMs] of attempts) {
      workflow.failNext({ status, headers, body: { error: { code: 'x', message: `answered ${status}` } } });
      const error = await deliver(sampleSummary(), 'announce').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChannelDeliveryError);
      expect(error).toMatchObject({ retryable, retryAfterMs });
      expect(
        JSON.stringify({
          message: (error as Error).message,
          context: (error as ChannelDeliveryError).context,
        }),
      ).not.toContain('s3cr3t');
    }
  });

  it('a workflow that cannot be reached is retryable', async () => {
    const gone = createTeamsWorkflowChannel(
      TeamsWorkflowChannelSchema.parse({ type: 'teams-workflow', url: 'http://127.0.0.1:9/hook?sig=s3cr3t' }),
      { name: 'gone', logger: silentLogger },
    );
    const error = await gone
      .deliver(
        {
          deliveryId: 'x',
          kind: 'announce',
          event: eventOf('announce', sampleSummary()),
          attempt: 1,
          summary: sampleSummary(),
        },
        AbortSignal.timeout(10_000),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true });
    expect((error as Error).message).not.toContain('s3cr3t');
  });

  it('the URL must be https (plain http only to localhost)', () => {
    const parsed = TeamsWorkflowChannelSchema.safeParse({
      type: 'teams-workflow',
      url: 'http://prod.example.com/hook',
    });
    expect(parsed.error?.issues[0]?.message).toBe('must be an https URL (plain http only to localhost)');
  });
});
