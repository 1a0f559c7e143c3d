import { z } from 'zod';

/**
 * The parts of a Bot Framework activity Gatehouse reads, as Teams sends them. Objects are loose: Teams
 * adds fields over time, and what Gatehouse does not read it does not need to refuse. Read only after
 * the activity's token has been verified.
 */

const AccountSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  /** The person's Entra object id, set by Teams. */
  aadObjectId: z.string().optional(),
});

export const ActivitySchema = z.looseObject({
  type: z.string().min(1),
  id: z.string().optional(),
  /** For invokes: `adaptiveCard/action` when a card's Action.Execute was clicked or refreshed. */
  name: z.string().optional(),
  channelId: z.string().min(1),
  serviceUrl: z.string().min(1),
  from: AccountSchema,
  recipient: AccountSchema,
  conversation: z.looseObject({
    id: z.string().min(1),
    conversationType: z.string().optional(),
    tenantId: z.string().optional(),
  }),
  channelData: z
    .looseObject({
      tenant: z.looseObject({ id: z.string() }).optional(),
      team: z.looseObject({ id: z.string() }).optional(),
      eventType: z.string().optional(),
    })
    .optional(),
  membersAdded: z.array(AccountSchema).optional(),
  membersRemoved: z.array(AccountSchema).optional(),
  /** installationUpdate: add, remove, add-upgrade, remove-upgrade. */
  action: z.string().optional(),
  value: z.unknown().optional(),
});
export type Activity = z.infer<typeof ActivitySchema>;

/** The value of an `adaptiveCard/action` invoke (Universal Actions). */
export const CardActionSchema = z.looseObject({
  action: z.looseObject({
    type: z.literal('Action.Execute'),
    verb: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  }),
  trigger: z.enum(['manual', 'automatic']).optional(),
});
export type CardAction = z.infer<typeof CardActionSchema>;

/** The tenant Teams reports for the activity. */
export function tenantOf(activity: Activity): string | undefined {
  return activity.channelData?.tenant?.id ?? activity.conversation.tenantId;
}

/** What an activity says about the bot's place in the conversation. */
export function membership(activity: Activity): 'added' | 'removed' | undefined {
  const bot = activity.recipient.id;
  if (activity.type === 'installationUpdate') {
    if (activity.action?.startsWith('add')) return 'added';
    // remove-upgrade: the app changed, the bot stays.
    if (activity.action === 'remove') return 'removed';
    return undefined;
  }
  if (activity.type !== 'conversationUpdate') return undefined;
  if (activity.membersAdded?.some((m) => m.id === bot)) return 'added';
  if (activity.membersRemoved?.some((m) => m.id === bot)) return 'removed';
  if (activity.channelData?.eventType === 'teamDeleted') return 'removed';
  return undefined;
}

/** The invoke response Teams shows: a card, or an error. */
export type InvokeResponse =
  | { statusCode: 200; type: 'application/vnd.microsoft.card.adaptive'; value: unknown }
  | {
      statusCode: 400 | 404 | 500;
      type: 'application/vnd.microsoft.error';
      value: { code: string; message: string };
    };
