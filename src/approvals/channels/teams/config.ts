import { z } from 'zod';

/**
 * PLACEHOLDER written by the channels helper so the channel config compiles; the Teams helper replaces
 * this file with the real schemas. Keep the three exported names.
 */

export const TeamsBotChannelSchema = z.strictObject({
  type: z.literal('teams-bot'),
});

export const TeamsWorkflowChannelSchema = z.strictObject({
  type: z.literal('teams-workflow'),
  url: z.url({ protocol: /^https$/, error: 'url must be an https URL' }),
});

/** An approver's Teams account, in `approvers.directory[].teams`. */
export const TeamsAccountSchema = z.strictObject({
  aadObjectId: z.string().min(1),
  tenantId: z.string().min(1),
});
