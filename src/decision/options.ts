import { z } from 'zod';

/** Bounds on what a policy evaluation may cost; part of the config file (`policyLimits`). */
export const PolicyLimitsSchema = z.strictObject({
  /** Arguments whose JSON encoding is larger than this are denied before any rule runs. */
  maxArgumentBytes: z.number().int().positive().default(1_048_576),
  /** Arguments nested deeper than this are denied before any rule runs. */
  maxArgumentDepth: z.number().int().positive().default(64),
  /** A rule evaluation that runs longer than this is stopped and counts as a deny. */
  evalDeadlineMs: z.number().int().positive().default(100),
  /** Load-time bound on nested comprehensions (all/exists/map/filter) in one expression. */
  maxComprehensionNesting: z.number().int().positive().default(2),
});

export type PolicyLimits = z.infer<typeof PolicyLimitsSchema>;

/** When a changed policy folder is loaded; part of the config file (`policyReload`). */
export const PolicyReloadSchema = z.strictObject({
  /**
   * A change is loaded once the folder has been quiet this long and two reads this far apart found
   * the same content, so a file still being written is never taken as the new policy.
   */
  settleMs: z
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(1_000)
    .describe(
      'A changed policy folder is loaded once no file has changed for this long and two reads this far apart agree (100-5000 ms is sensible).',
    ),
});

export type PolicyReload = z.infer<typeof PolicyReloadSchema>;
