import { describe, expect, it } from 'vitest';
import { blockKitProblems, mrkdwnTexts, plainTexts } from '../../../../test/helpers/blockKit.js';
import {
  finishedSummary,
  hostileSummary,
  OUTCOME_KINDS,
  sampleSummary,
  summaryWithArguments,
} from '../../../../test/helpers/teamsSummary.js';
import type { ApprovalSummary } from '../summary.js';
import type { SectionBlock } from './blockKit.js';
import { ACTIONS, approvalMessage, notice, outcomeReply, rejectModal } from './message.js';

const actionIds = (summary: ApprovalSummary) =>
  approvalMessage(summary)
    .blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []))
    .map((e) => e.action_id);

/** The code block's text in a message: the arguments. */
const codeOf = (summary: ApprovalSummary) =>
  mrkdwnTexts(approvalMessage(summary)).find((t) => t.startsWith('```'))!;

describe('Slack messages', () => {
  it('keep Block Kit limits in every state, and so do the modal, the notices and the reply', () => {
    const summaries = [
      sampleSummary(),
      sampleSummary({
        quorum: 2,
        approvals: [{ id: 'bob', at: '2026-11-30T16:02:00.000Z', channel: 'slack' }],
        arguments: { value: {}, display: '{"password": "[REDACTED]"}', redacted: ['$.password'], cut: true },
        flagged: true,
        toolDescription: '',
        reason: '',
      }),
      sampleSummary({ state: 'approved', approvals: [{ id: 'bob', at: '2026-11-30T16:02:00.000Z' }] }),
      ...OUTCOME_KINDS.map(finishedSummary),
    ];
    for (const summary of summaries) {
      expect(blockKitProblems(approvalMessage(summary))).toEqual([]);
      expect(blockKitProblems(outcomeReply(summary, 'U0ALICE'))).toEqual([]);
    }
    expect(
      blockKitProblems(rejectModal(sampleSummary(), { approvalId: 'x', channelId: 'C0X' }), 'modal'),
    ).toEqual([]);
    expect(blockKitProblems(notice('Not recorded: you made this request.'))).toEqual([]);
  });

  it('the limits check catches what Slack would refuse', () => {
    const message = approvalMessage(sampleSummary());
    expect(blockKitProblems({ ...message, blocks: Array(51).fill(message.blocks[0]) })).toContain(
      '$.blocks: must hold 1 to 50 blocks',
    );
    const long = { type: 'section', text: { type: 'plain_text', text: 'x'.repeat(3001) } };
    expect(blockKitProblems({ ...message, blocks: [long] })[0]).toMatch(
      /^\$\.blocks\[0\]\.text\.text: must be 1 to 3000/,
    );
    expect(
      blockKitProblems({ ...message, blocks: [{ type: 'section', text: { type: 'plain_text', text: '' } }] }),
    ).not.toEqual([]);
  });

  it('offer Approve and Reject with the request id while pending, and only the page link after', () => {
    expect(actionIds(sampleSummary())).toEqual([ACTIONS.approve, ACTIONS.reject, ACTIONS.open]);
    const buttons = approvalMessage(sampleSummary()).blocks.find((b) => b.type === 'actions')!;
    expect(buttons).toMatchObject({
      elements: [
        { value: sampleSummary().id, style: 'primary' },
        { value: sampleSummary().id, style: 'danger' },
        { url: sampleSummary().url },
      ],
    });
    for (const kind of OUTCOME_KINDS) expect(actionIds(finishedSummary(kind))).toEqual([ACTIONS.open]);
  });

  it('show the tally, the rejection with its reason and the outcome', () => {
    const half = approvalMessage(
      sampleSummary({
        quorum: 2,
        approvals: [{ id: 'bob', at: '2026-11-30T16:02:00.000Z', channel: 'slack' }],
      }),
    );
    expect(JSON.stringify(half)).toContain('Approved so far (1 of 2)');
    expect(plainTexts(half)).toContain('bob via slack at 2026-11-30 16:02 UTC');
    const rejected = approvalMessage(finishedSummary('rejected'));
    expect(plainTexts(rejected)).toContain('bob at 2026-11-30 16:05 UTC: not this file');
    expect(plainTexts(rejected)[0]).toBe('Rejected');
    expect(plainTexts(approvalMessage(finishedSummary('failed')))).toContain('the outcome: failed');
  });

  it('never put untrusted text in mrkdwn: only plain_text, and code blocks escaped', () => {
    const hostile = '<https://evil.example|Approve here> <!channel> <@U0BOB> *bold* & `tick`';
    const summary = hostileSummary(hostile, { digest: hostile });
    const surfaces = [
      approvalMessage(summary),
      rejectModal(summary, { approvalId: 'x' }),
      outcomeReply(summary, 'U0ALICE'),
      notice(hostile),
    ];
    for (const surface of surfaces) {
      for (const text of mrkdwnTexts(surface)) {
        if (text.startsWith('```')) {
          // The arguments: nothing in them can open a link, a mention or end the block.
          expect(text.slice(3, -3)).not.toMatch(/[<>`]|&(?!amp;|lt;|gt;)/);
        } else {
          expect(text).not.toContain('evil');
          expect(text).not.toContain('!channel');
          expect(text).not.toContain('U0BOB');
        }
      }
    }
    expect(plainTexts(approvalMessage(summary)).filter((t) => t.includes(hostile)).length).toBeGreaterThan(8);
    // The notification text is Gatehouse's, with the tool's name escaped.
    expect(approvalMessage(summary).text).not.toMatch(/[<>]/);
    expect(notice(hostile).text).not.toMatch(/[<>]/);
  });

  describe('golden messages: hostile arguments are shown as written, never interpreted', () => {
    const cases: Record<string, Record<string, string>> = {
      'mrkdwn-link': { comment: 'Looks fine. <https://evil.example/approve|Approve here> *urgent* _now_' },
      mention: { note: '<!channel> <!here> <@U0SECURITY> approved this already <!subteam^S0ADMINS>' },
      'code-fence': { script: '```\n*Approved by security*\n```\n<https://evil.example|details>' },
      bidi: { path: '/tmp/\u202Etxt.exe', owner: 'admin\u200B' },
    };
    for (const [name, value] of Object.entries(cases)) {
      it(name, async () => {
        const message = approvalMessage(summaryWithArguments(value));
        expect(blockKitProblems(message)).toEqual([]);
        await expect(JSON.stringify(message, null, 2) + '\n').toMatchFileSnapshot(
          `testdata/messages/${name}.json`,
        );
      });
    }

    it('bidi and zero-width characters never reach the message raw, wherever they come from', () => {
      const summary = sampleSummary({
        reason: 'ok\u202Egnp.exe',
        requester: { id: 'mallory\u2066', groups: [] },
      });
      const all = JSON.stringify([
        approvalMessage(summary),
        approvalMessage(summaryWithArguments({ a: '\u202E\u200B' })),
      ]);
      expect(all).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B-\u200F]/);
      expect(all).toContain('[U+202E]');
      expect(all).toContain('[U+2066]');
    });
  });

  describe('size', () => {
    const huge = {
      ascii: 'x'.repeat(200_000),
      escapes: '<&>'.repeat(20_000),
      'astral characters': '😀'.repeat(50_000),
    };
    for (const [name, text] of Object.entries(huge)) {
      it(`cuts ${name} to Block Kit's limits, pointing to the page`, () => {
        const summary = sampleSummary({
          toolDescription: text,
          reason: text,
          approvers: Array.from({ length: 2_000 }, (_, i) => `user:approver-${i}`),
          arguments: { value: { text }, display: text, redacted: [], cut: false },
        });
        const message = approvalMessage(summary);
        expect(blockKitProblems(message)).toEqual([]);
        expect(codeOf(summary)).toMatch(/more characters on the request page\]```$/);
        expect(plainTexts(message)).toContain('Long values are cut here: the request page shows them whole.');
        expect(JSON.stringify(message)).toContain(summary.url);
      });
    }

    it('keeps a message that fits whole', () => {
      const message = approvalMessage(sampleSummary());
      expect(JSON.stringify(message)).not.toContain('more characters');
      expect(message.blocks.length).toBeLessThan(12);
      const fields = (message.blocks[1] as SectionBlock).fields!;
      expect(fields.length).toBeLessThanOrEqual(10);
    });
  });

  it('the outcome reply mentions the requester by member id, with Gatehouse words only', () => {
    const reply = outcomeReply(finishedSummary('executed'), 'U0ALICE');
    expect(reply.text).toBe(
      '<@U0ALICE> your request has ended: *Approved and run*. The message above has the details.',
    );
  });
});
