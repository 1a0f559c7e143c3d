import { describe, expect, it } from 'vitest';
import {
  finishedSummary,
  hostileSummary,
  OUTCOME_KINDS,
  sampleSummary,
  summaryWithArguments,
} from '../../../../test/helpers/teamsSummary.js';
import { cardBytes, type AdaptiveCard } from './adaptiveCard.js';
import { approvalCard, MAX_REFRESH_USERS, type CardOptions } from './card.js';
import { adaptiveCardProblems } from './schemas.js';

const bot = (extra: Partial<CardOptions> = {}): CardOptions => ({ mode: 'bot', maxBytes: 25_000, ...extra });
const workflow: CardOptions = { mode: 'workflow', maxBytes: 25_000 };

/** Every TextBlock's text and every TextRun's text, wherever they sit. */
function texts(card: unknown, type: 'TextBlock' | 'TextRun'): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (record.type === type && typeof record.text === 'string') out.push(record.text);
    Object.values(record).forEach(walk);
  };
  walk(card);
  return out;
}

const actionTypes = (card: AdaptiveCard) => (card.actions ?? []).map((a) => a.type);

describe('approval cards', () => {
  it('validate against the Adaptive Card 1.5 schema in every state, for both channels', () => {
    const summaries = [
      sampleSummary(),
      sampleSummary({
        quorum: 2,
        approvals: [{ id: 'bob', at: '2026-11-30T16:02:00.000Z', channel: 'teams' }],
        arguments: {
          value: { password: '[REDACTED]' },
          display: '{"password": "[REDACTED]"}',
          redacted: ['$.password'],
          cut: true,
        },
        flagged: true,
      }),
      sampleSummary({ state: 'approved', approvals: [{ id: 'bob', at: '2026-11-30T16:02:00.000Z' }] }),
      ...OUTCOME_KINDS.map(finishedSummary),
    ];
    const cards = summaries.flatMap((summary) => [
      approvalCard(summary, bot()),
      approvalCard(
        summary,
        bot({ decide: true, refreshUserIds: ['8:orgid:00000000-0000-0000-0000-000000000002'] }),
      ),
      approvalCard(
        summary,
        bot({ notice: { text: 'Not recorded: you made this request.', tone: 'attention' } }),
      ),
      approvalCard(summary, workflow),
    ]);
    for (const card of cards) expect(adaptiveCardProblems(card)).toEqual([]);
  });

  it('the schema check catches what Teams would not render', () => {
    const card = approvalCard(sampleSummary(), bot());
    expect(adaptiveCardProblems({ ...card, body: [{ type: 'TextBlock' }] })).not.toEqual([]);
    expect(adaptiveCardProblems({ ...card, onClick: 'x' })).not.toEqual([]);
  });

  it('puts Approve and Reject (with a required reason) only on the view of someone who may decide', () => {
    const pending = sampleSummary();
    expect(actionTypes(approvalCard(pending, bot()))).toEqual(['Action.OpenUrl']);
    const view = approvalCard(pending, bot({ decide: true }));
    expect(actionTypes(view)).toEqual(['Action.Execute', 'Action.ShowCard', 'Action.OpenUrl']);
    const reject = view.actions![1]!;
    expect(reject.type === 'Action.ShowCard' && reject.card.body[0]).toMatchObject({
      type: 'Input.Text',
      id: 'reason',
      isRequired: true,
    });
    expect(JSON.stringify(view.actions)).toContain(`"approvalId":"${pending.id}"`);
    // A finished request takes no decisions, whoever looks.
    expect(actionTypes(approvalCard(finishedSummary('rejected'), bot({ decide: true })))).toEqual([
      'Action.OpenUrl',
    ]);
  });

  it('asks Teams to refresh for at most 60 listed approvers, and only while pending', () => {
    const many = Array.from({ length: 75 }, (_, i) => `8:orgid:${String(i).padStart(12, '0')}`);
    const card = approvalCard(sampleSummary(), bot({ refreshUserIds: many }));
    expect(card.refresh?.userIds).toEqual(many.slice(0, MAX_REFRESH_USERS));
    expect(card.refresh?.action).toMatchObject({ type: 'Action.Execute', verb: 'refresh' });
    expect(approvalCard(finishedSummary('executed'), bot({ refreshUserIds: many })).refresh).toBeUndefined();
  });

  it('links to the page instead of buttons on Workflows cards', () => {
    const card = approvalCard(sampleSummary(), workflow);
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Approve or reject in Gatehouse', url: sampleSummary().url },
    ]);
    expect(card.refresh).toBeUndefined();
    expect(JSON.stringify(card)).not.toContain('Action.Execute');
  });

  it('never puts untrusted text in a TextBlock (markdown) but only in TextRuns', () => {
    const hostile = '**bold** [approve](https://evil.example) <at>bob</at> {{DATE(2030-01-01T00:00:00Z)}}';
    const summary = hostileSummary(hostile);
    for (const card of [approvalCard(summary, bot()), approvalCard(summary, workflow)]) {
      expect(texts(card, 'TextBlock').join('\n')).not.toMatch(/evil|<at>|DATE|\*\*/);
      expect(texts(card, 'TextRun').filter((t) => t.includes(hostile)).length).toBeGreaterThan(8);
    }
  });

  describe('golden cards: hostile arguments are shown as written, never interpreted', () => {
    const cases: Record<string, Record<string, string>> = {
      'markdown-link': { comment: 'Looks fine. [Approve here](https://evil.example/approve) **urgent**' },
      mention: { note: '<at>Security Team</at> already approved this <at id="0">everyone</at>' },
      template: { when: '{{DATE(2030-01-01T00:00:00Z, SHORT)}} {{TIME(2030-01-01T00:00:00Z)}}' },
      bidi: { path: '/tmp/\u202Etxt.exe', owner: 'admin\u200B' },
    };
    for (const [name, value] of Object.entries(cases)) {
      it(name, async () => {
        const card = approvalCard(summaryWithArguments(value), bot({ decide: true }));
        expect(adaptiveCardProblems(card)).toEqual([]);
        await expect(JSON.stringify(card, null, 2) + '\n').toMatchFileSnapshot(`testdata/cards/${name}.json`);
      });
    }

    it('bidi and zero-width characters never reach the card raw, wherever they come from', () => {
      const summary = sampleSummary({
        reason: 'ok\u202Egnp.exe',
        requester: { id: 'mallory\u2066', groups: [] },
      });
      const all = texts(approvalCard(summaryWithArguments({ a: '\u202E\u200B\u2066' }), bot()), 'TextRun')
        .concat(texts(approvalCard(summary, bot()), 'TextRun'))
        .join('');
      expect(all).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B-\u200F]/);
      expect(all).toContain('[U+202E]');
      expect(all).toContain('[U+2066]');
    });
  });

  describe('size', () => {
    const limit = 25_000;
    const huge = {
      ascii: 'x'.repeat(200_000),
      'multi-byte': '😀'.repeat(50_000),
      // JSON writes each control character as a six-byte escape.
      escapes: '\u0001'.repeat(50_000),
    };
    for (const [name, text] of Object.entries(huge)) {
      it(`cuts ${name} arguments to fit ${limit} bytes, pointing to the page`, () => {
        const summary = sampleSummary({
          toolDescription: text.slice(0, 5000),
          arguments: { value: { text }, display: text, redacted: [], cut: false },
        });
        for (const options of [bot({ maxBytes: limit, decide: true }), { ...workflow, maxBytes: limit }]) {
          const card = approvalCard(summary, options);
          expect(cardBytes(card)).toBeLessThanOrEqual(limit);
          expect(adaptiveCardProblems(card)).toEqual([]);
          expect(JSON.stringify(card)).toContain('cut to fit the card');
          expect(JSON.stringify(card)).toContain(summary.url);
        }
      });
    }

    it('keeps a card that fits whole', () => {
      const card = approvalCard(sampleSummary(), bot());
      expect(JSON.stringify(card)).not.toContain('cut to fit');
      expect(cardBytes(card)).toBeLessThan(5_000);
    });

    it('falls back to the headline and the link when even cut texts do not fit', () => {
      const crowd = Array.from({ length: 2_000 }, (_, i) => `user:approver-number-${i}`);
      const card = approvalCard(sampleSummary({ approvers: crowd }), bot({ maxBytes: 8_000 }));
      expect(cardBytes(card)).toBeLessThanOrEqual(8_000);
      expect(JSON.stringify(card)).toContain('too large for a card');
      expect(card.actions?.at(-1)).toMatchObject({ type: 'Action.OpenUrl', url: sampleSummary().url });
    });
  });
});
