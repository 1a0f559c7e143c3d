import { z } from 'zod';
import { CHANNEL_EVENTS } from '../channel.js';

/**
 * A signed-webhook channel: Gatehouse POSTs each event, signed by the Standard Webhooks scheme, to
 * `url`; the receiver may send decisions back to /api/approvals/:id/decision, signed with the same
 * secret and carrying the event's single-use callback token.
 */

/** `whsec_` and the base64 of 24 to 64 random bytes, as the Standard Webhooks scheme specifies. */
export const WebhookSecretSchema = z.string().refine(
  (secret) => {
    const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
    if (!match || match[1]!.length % 4 !== 0) return false;
    const bytes = Buffer.from(match[1]!, 'base64').length;
    return bytes >= 24 && bytes <= 64;
  },
  {
    error:
      'a webhook secret is "whsec_" followed by the base64 of 24 to 64 random bytes ' +
      '(for example: echo "whsec_$(openssl rand -base64 32)"); pass it as ${VAR}',
  },
);

export const WebhookChannelSchema = z.strictObject({
  type: z.literal('webhook'),
  url: z
    .url({ protocol: /^https?$/, error: 'url must be an http(s) URL' })
    .describe('Where events are POSTed. Use https beyond localhost: the body names people and tools.'),
  secrets: z
    .array(WebhookSecretSchema, {
      error: (issue) =>
        issue.input === undefined
          ? 'a webhook channel needs its signing secret: "secrets": ["whsec_..."]; use ${VAR}'
          : 'secrets is a list of "whsec_..." strings',
    })
    .min(1, 'a webhook channel needs at least one signing secret')
    .describe(
      'Standard Webhooks signing secrets, "whsec_<base64>"; use ${VAR}. While rotating give two: ' +
        'events are signed with each, and a callback signed with any is accepted.',
    ),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('Extra headers on every event (a gateway key); never logged.'),
  events: z
    .array(z.enum(CHANNEL_EVENTS))
    .min(1)
    .optional()
    .describe('Which events to send; default all of them.'),
  decisions: z
    .boolean()
    .default(true)
    .describe(
      'Whether events carry a decision callback and the receiver may decide; false: notifications only.',
    ),
  approvers: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe(
      'Ids from approvers.directory this receiver may decide as (an allow-list); default: anyone in ' +
        'the directory, as the rule lists them.',
    ),
  maxRememberedIds: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe(
      'Callback webhook-ids remembered against replays (for the 5-minute timestamp window); when full, ' +
        'further callbacks are refused with 503 until older ids age out.',
    ),
});
export type WebhookChannelConfig = z.infer<typeof WebhookChannelSchema>;
