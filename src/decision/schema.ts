import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The policy file format, the source of truth for what an author may write. Types derive from it.
 * Cross-field rules (approvers only on approve rules, and so on) live here too, so one parse reports
 * every problem of a file with its path.
 */

export const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;
const APPROVER = /^(?:group:|user:)?[^\s:][^\s]*$/;

/** One glob or a list of them; absent means "any". */
const GlobList = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

export const EFFECTS = ['allow', 'deny', 'approve'] as const;

export const RuleSchema = z
  .strictObject({
    id: z.string().regex(RULE_ID),
    description: z.string().optional(),
    match: z.strictObject({ servers: GlobList.optional(), tools: GlobList.optional() }).optional(),
    // Not trimmed: offsets into the expression must stay offsets into the file for error carets.
    when: z
      .string()
      .refine((v) => v.trim().length > 0)
      .optional(),
    effect: z.enum(EFFECTS),
    reason: z.string().min(1).optional(),
    approvers: z.array(z.string().regex(APPROVER)).min(1).optional(),
    quorum: z.number().int().min(1).optional(),
    ttl: z
      .string()
      .refine((v) => parseDuration(v) !== undefined)
      .optional(),
    channels: z.array(z.string().min(1)).min(1).optional(),
    /** Credentials (by name, of the call's server) handed to the server for this one call. */
    credentials: z.array(z.string().min(1)).min(1).optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.effect === 'deny' && rule.credentials !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['credentials'],
        message: 'credentials only apply to effect allow or approve, not deny',
      });
    if (rule.effect === 'approve') {
      if (!rule.approvers)
        ctx.addIssue({ code: 'custom', path: ['effect'], message: 'an approve rule needs approvers' });
      const users = rule.approvers?.filter((a) => !a.startsWith('group:')) ?? [];
      if (
        rule.quorum !== undefined &&
        users.length === rule.approvers?.length &&
        rule.quorum > users.length
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['quorum'],
          message: `quorum ${rule.quorum} can never be met by ${users.length} named approver(s)`,
        });
      }
      return;
    }
    for (const key of ['approvers', 'quorum', 'ttl', 'channels'] as const) {
      if (rule[key] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${key} only applies to effect approve, not ${rule.effect}`,
        });
      }
    }
  });

export const PolicyFileSchema = z.strictObject({
  description: z.string().optional(),
  /** Effect when no rule matches. `approve` is not offered: it would need approvers of its own. */
  default: z.enum(['allow', 'deny']).optional(),
  mode: z.enum(['enforce', 'shadow']).optional(),
  rules: z.array(RuleSchema).default([]),
});

export type RuleInput = z.infer<typeof RuleSchema>;
export type PolicyFileInput = z.infer<typeof PolicyFileSchema>;

/** Defaults for approve rules the author did not spell out. */
export const APPROVAL_DEFAULTS = { quorum: 1, ttl: '1h' } as const;
