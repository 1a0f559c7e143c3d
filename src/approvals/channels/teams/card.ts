import type { ApprovalSummary } from '../summary.js';
import { clock, headline } from '../words.js';
import {
  cardBytes,
  heading,
  paragraph,
  run,
  type AdaptiveCard,
  type CardAction,
  type CardElement,
  type ExecuteAction,
  type TextRun,
} from './adaptiveCard.js';

/**
 * One card for an approval request, from its channel-neutral summary, for both Teams channels: what is
 * asked (tool, server, description, rule and reason, requester, expiry, the digest it is bound to, the
 * arguments), how far it got (approvals, rejection, outcome) and the request page's link. The bot's
 * card adds Approve / Reject (Action.Execute) for a viewer who may decide, and `refresh` so Teams asks
 * the bot for each listed approver's view; the Workflows card can only open the page.
 */

export const VERBS = { approve: 'approve', reject: 'reject', refresh: 'refresh' } as const;

/** Longest rejection reason a card's input takes. */
export const REASON_MAX_CHARS = 1000;

/** Teams runs `refresh` automatically for at most this many listed users; others use "Refresh card". */
export const MAX_REFRESH_USERS = 60;

export interface CardOptions {
  /** `bot`: Universal Actions (version 1.5); `workflow`: links only (version 1.4, for the Workflows bot). */
  mode: 'bot' | 'workflow';
  /** The card's JSON in bytes at most: long texts are cut, with the page link for the rest. */
  maxBytes: number;
  /** Bot, while pending: the Teams user ids (MRIs) whose clients refresh the card automatically. */
  refreshUserIds?: readonly string[];
  /** This viewer may decide now: Approve and Reject are on their view. */
  decide?: boolean;
  /** A line for this viewer alone: why a click did not count, or what they did. */
  notice?: { text: string; tone: 'attention' | 'good' };
}

export function approvalCard(summary: ApprovalSummary, options: CardOptions): AdaptiveCard {
  const full: Texts = {
    arguments: summary.arguments.display,
    description: summary.toolDescription,
    reason: summary.reason,
    outcome: summary.outcome?.text,
  };
  let card = build(summary, options, full);
  let overflow = cardBytes(card) - options.maxBytes;
  // Cut the longest texts first; each pass measures again (escaping makes bytes and characters differ).
  for (let pass = 0; overflow > 0 && pass < 8; pass++) {
    const texts = shrink(full, overflow);
    card = build(summary, options, texts);
    overflow = cardBytes(card) - options.maxBytes;
    Object.assign(full, texts);
  }
  // Still too large (a huge approver list, say): the headline and the link always fit.
  return overflow > 0 ? minimalCard(summary, options) : card;
}

interface Texts {
  arguments: string;
  description: string | undefined;
  reason: string;
  outcome: string | undefined;
}

const CUT = ' … [cut to fit the card: the request page has it all]';

/** `overflow` bytes fewer, taken from the longest texts, each cut at a character with the marker. */
function shrink(texts: Texts, overflow: number): Texts {
  const next = { ...texts };
  let owed = overflow + CUT.length * 3;
  const keys = (['arguments', 'description', 'outcome', 'reason'] as const)
    .filter((key) => (next[key]?.length ?? 0) > 0)
    .sort((a, b) => (next[b]?.length ?? 0) - (next[a]?.length ?? 0));
  for (const key of keys) {
    if (owed <= 0) break;
    const chars = Array.from(next[key] ?? '');
    const keep = Math.max(0, chars.length - owed - CUT.length);
    owed -= chars.length - keep;
    next[key] = keep === 0 ? CUT.trim() : chars.slice(0, keep).join('') + CUT;
  }
  return next;
}

function build(summary: ApprovalSummary, options: CardOptions, texts: Texts): AdaptiveCard {
  const pending = summary.state === 'pending';
  const body: CardElement[] = [
    heading(headline(summary), pending ? undefined : toneOf(summary)),
    paragraph(run(summary.exposedName, { weight: 'Bolder', fontType: 'Monospace' })),
    row('Server and tool', run(`${summary.server} / ${summary.tool}`, { fontType: 'Monospace' })),
  ];
  if (texts.description) body.push(row('What the tool says it does', run(texts.description)));
  body.push(
    row(
      'Why approval is needed',
      run(texts.reason),
      run(`  (rule ${summary.rules.join(', ')})`, { isSubtle: true }),
    ),
    row('Requested by', run(summary.requester.id)),
    row(
      'Approvers',
      run(summary.approvers.join(', ')),
      run(`  (${summary.quorum} needed)`, { isSubtle: true }),
    ),
  );
  if (summary.approvals.length > 0) {
    const who = summary.approvals.map(
      (a) => `${a.id}${a.channel ? ` via ${a.channel}` : ''} at ${clock(a.at)}`,
    );
    body.push(row(`Approved so far (${summary.approvals.length} of ${summary.quorum})`, run(who.join('; '))));
  }
  if (summary.rejection) {
    body.push(
      row(
        'Rejected by',
        run(`${summary.rejection.by} at ${clock(summary.rejection.at)}`),
        ...(summary.rejection.reason ? [run(`: ${summary.rejection.reason}`)] : []),
      ),
    );
  }
  if (summary.outcome && texts.outcome) {
    body.push(row('Outcome', run(texts.outcome, { color: toneOf(summary) })));
  }
  body.push(
    row(pending ? 'Expires' : 'Expiry was', run(clock(summary.expiresAt))),
    row('Bound to digest', run(summary.digest, { fontType: 'Monospace', isSubtle: true })),
    paragraph(run('Arguments', { weight: 'Bolder' })),
    paragraph(run(texts.arguments, { fontType: 'Monospace' })),
  );
  const notes: TextRun[] = [];
  if (summary.arguments.redacted.length > 0) {
    notes.push(run(`Redacted: ${summary.arguments.redacted.join(', ')}. `, { isSubtle: true }));
  }
  if (summary.arguments.cut || texts.arguments !== summary.arguments.display) {
    notes.push(run('Long values are cut here: the request page shows them whole. ', { isSubtle: true }));
  }
  if (summary.flagged) {
    notes.push(
      run('Some text holds hidden, direction-changing or look-alike characters, shown as [U+…].', {
        color: 'Warning',
      }),
    );
  }
  if (notes.length > 0) body.push(paragraph(...notes));
  if (options.notice) {
    body.push(
      paragraph(
        run(options.notice.text, {
          weight: 'Bolder',
          color: options.notice.tone === 'good' ? 'Good' : 'Attention',
        }),
      ),
    );
  }
  return frame(summary, options, body);
}

/** The version, the Teams width, the actions and (bot, pending) the refresh: the same for every card of a request. */
function frame(summary: ApprovalSummary, options: CardOptions, body: CardElement[]): AdaptiveCard {
  const pending = summary.state === 'pending';
  const actions: CardAction[] = [];
  if (options.mode === 'bot' && pending && options.decide) actions.push(...decisionActions(summary.id));
  actions.push({
    type: 'Action.OpenUrl',
    title: options.mode === 'workflow' && pending ? 'Approve or reject in Gatehouse' : 'Open in Gatehouse',
    url: summary.url,
  });
  const userIds = (options.refreshUserIds ?? []).slice(0, MAX_REFRESH_USERS);
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: options.mode === 'bot' ? '1.5' : '1.4',
    body,
    actions,
    ...(options.mode === 'bot' && pending
      ? { refresh: { action: execute(VERBS.refresh, summary.id), userIds } }
      : {}),
    msteams: { width: 'Full' },
  };
}

function minimalCard(summary: ApprovalSummary, options: CardOptions): AdaptiveCard {
  return frame(summary, options, [
    heading(headline(summary)),
    paragraph(run('This request is too large for a card: open it in Gatehouse.', { weight: 'Bolder' })),
    paragraph(run(summary.exposedName, { fontType: 'Monospace' })),
  ]);
}

function decisionActions(id: string): CardAction[] {
  return [
    { ...execute(VERBS.approve, id), title: 'Approve', style: 'positive', associatedInputs: 'none' },
    {
      type: 'Action.ShowCard',
      title: 'Reject…',
      style: 'destructive',
      card: {
        type: 'AdaptiveCard',
        body: [
          {
            type: 'Input.Text',
            id: 'reason',
            label: 'Why? The requester and the model are told.',
            isMultiline: true,
            isRequired: true,
            errorMessage: 'A rejection needs a reason.',
            maxLength: REASON_MAX_CHARS,
          },
        ],
        actions: [
          { ...execute(VERBS.reject, id), title: 'Reject', style: 'destructive', associatedInputs: 'auto' },
        ],
      },
    },
  ];
}

function execute(verb: string, id: string): ExecuteAction {
  return { type: 'Action.Execute', verb, data: { approvalId: id } };
}

/** A label and its value on one line. */
function row(label: string, ...value: TextRun[]) {
  return paragraph(run(`${label}: `, { weight: 'Bolder' }), ...value);
}

function toneOf(summary: ApprovalSummary): TextRun['color'] {
  const kind = summary.outcome?.kind;
  if (kind === 'executed' || kind === undefined) return 'Good';
  if (kind === 'expired' || kind === 'cancelled') return 'Warning';
  return 'Attention';
}
