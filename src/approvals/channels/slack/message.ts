import type { ApprovalSummary } from '../summary.js';
import { clock, headline } from '../words.js';
import {
  BLOCK_KIT_LIMITS as LIMITS,
  codeBlock,
  escapeMrkdwn,
  label,
  plain,
  type Block,
  type Button,
  type ModalView,
  type SlackMessage,
  type TextObject,
} from './blockKit.js';

/**
 * The Slack message of an approval request, from its channel-neutral summary: what is asked (tool,
 * server, description, rule and reason, requester, expiry, the digest it is bound to, the arguments),
 * how far it got (approvals, rejection, outcome), the request page's link, and while it is pending
 * Approve and Reject. One message for everyone in the conversation, replaced with `chat.update` as the
 * request moves on; Slack cannot show each person their own view, so whoever clicks is told by an
 * ephemeral message whether their click counted. Also the modal that asks a rejection's reason, and
 * the thread reply that tells the requester how their request ended.
 *
 * Every limit of Block Kit is kept by construction: a fixed number of blocks (far below 50), at most
 * ten fields per section, every text cut to its limit with a pointer to the request page.
 */

export const ACTIONS = {
  approve: 'gatehouse_approve',
  reject: 'gatehouse_reject',
  open: 'gatehouse_open',
} as const;

/** The reject modal's callback id and its reason input. */
export const REJECT_VIEW = { callbackId: 'gatehouse_reject', block: 'reason', action: 'reason' } as const;

/** Longest rejection reason the modal takes (the same as Teams'). */
export const REASON_MAX_CHARS = 1000;

export function approvalMessage(summary: ApprovalSummary): SlackMessage {
  const pending = summary.state === 'pending';
  const blocks: Block[] = [
    { type: 'header', text: plain(headline(summary), LIMITS.headerText) },
    {
      type: 'section',
      fields: [
        ...pair('Tool', summary.exposedName),
        ...pair('Server and tool', `${summary.server} / ${summary.tool}`),
        ...pair('Requested by', summary.requester.id),
        ...pair('Approvers', `${summary.approvers.join(', ')} (${summary.quorum} needed)`),
        ...pair(pending ? 'Expires' : 'Expiry was', clock(summary.expiresAt)),
      ],
    },
  ];
  const progress: TextObject[] = [
    ...pair('Why approval is needed', `${summary.reason} (rule ${summary.rules.join(', ')})`),
  ];
  if (summary.toolDescription) progress.push(...pair('What the tool says it does', summary.toolDescription));
  if (summary.approvals.length > 0) {
    const who = summary.approvals.map(
      (a) => `${a.id}${a.channel ? ` via ${a.channel}` : ''} at ${clock(a.at)}`,
    );
    progress.push(
      ...pair(`Approved so far (${summary.approvals.length} of ${summary.quorum})`, who.join('; ')),
    );
  }
  if (summary.rejection) {
    const { by, at, reason } = summary.rejection;
    progress.push(...pair('Rejected by', `${by} at ${clock(at)}${reason ? `: ${reason}` : ''}`));
  }
  if (summary.outcome) progress.push(...pair('Outcome', summary.outcome.text));
  blocks.push({ type: 'section', fields: progress });

  const args = codeBlock(summary.arguments.display);
  blocks.push(
    { type: 'context', elements: [label('Bound to digest'), plain(summary.digest)] },
    { type: 'section', text: label('Arguments') },
    { type: 'section', text: args.block },
  );
  const notes: TextObject[] = [];
  if (summary.arguments.redacted.length > 0) {
    notes.push(plain(`Redacted: ${summary.arguments.redacted.join(', ')}.`));
  }
  if (summary.arguments.cut || args.cut) {
    notes.push(plain('Long values are cut here: the request page shows them whole.'));
  }
  if (summary.arguments.display.includes('`')) {
    notes.push(plain('Backticks show as [U+0060] in the code block.'));
  }
  if (summary.flagged) {
    notes.push(plain('Some text holds hidden, direction-changing or look-alike characters, shown as [U+…].'));
  }
  if (notes.length > 0) blocks.push({ type: 'context', elements: notes });
  blocks.push({ type: 'actions', block_id: `gatehouse:${summary.id}`, elements: buttons(summary, pending) });
  return { text: `${headline(summary)}: ${escapeMrkdwn(summary.exposedName)}`, blocks };
}

/** Approve and Reject while pending (the request's id as their value), and always the page's link. */
function buttons(summary: ApprovalSummary, pending: boolean): Button[] {
  const open: Button = {
    type: 'button',
    action_id: ACTIONS.open,
    text: plain('Open in Gatehouse'),
    url: summary.url,
  };
  if (!pending) return [open];
  return [
    {
      type: 'button',
      action_id: ACTIONS.approve,
      text: plain('Approve'),
      value: summary.id,
      style: 'primary',
    },
    {
      type: 'button',
      action_id: ACTIONS.reject,
      text: plain('Reject…'),
      value: summary.id,
      style: 'danger',
    },
    open,
  ];
}

/** A label (Gatehouse's words, bold) and its value (untrusted, plain): two fields, side by side. */
function pair(name: string, value: string): [TextObject, TextObject] {
  return [label(name), plain(value)];
}

/** What the modal carries from the click to its submission (Slack hands it back as given). */
export interface RejectContext {
  approvalId: string;
  /** Where the clicked message is: the submitter is answered there. */
  channelId?: string;
}

/** The modal that asks why, opened with the Reject click's trigger_id. */
export function rejectModal(summary: ApprovalSummary, context: RejectContext): ModalView {
  return {
    type: 'modal',
    callback_id: REJECT_VIEW.callbackId,
    title: plain('Reject request'),
    submit: plain('Reject'),
    close: plain('Cancel'),
    private_metadata: JSON.stringify(context),
    blocks: [
      {
        type: 'section',
        fields: [...pair('Tool', summary.exposedName), ...pair('Requested by', summary.requester.id)],
      },
      {
        type: 'input',
        block_id: REJECT_VIEW.block,
        label: plain('Why? The requester and the model are told.'),
        element: {
          type: 'plain_text_input',
          action_id: REJECT_VIEW.action,
          multiline: true,
          min_length: 1,
          max_length: REASON_MAX_CHARS,
        },
      },
    ],
  };
}

/**
 * The thread reply that tells the requester their request ended: a mention of their Slack member id
 * (from approvers.directory, checked to be an id when the config was read) and Gatehouse's headline.
 */
export function outcomeReply(summary: ApprovalSummary, requesterUserId: string): SlackMessage {
  const text = `<@${requesterUserId}> your request has ended: *${headline(summary)}*. The message above has the details.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** A line for one person only (an ephemeral message): what their click did, or why it did not count. */
export function notice(text: string): SlackMessage {
  return { text: escapeMrkdwn(text), blocks: [{ type: 'section', text: plain(text, LIMITS.sectionText) }] };
}
