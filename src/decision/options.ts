import { z } from 'zod';

/** Bounds on what a policy evaluation may cost; part of the config file (`policyLimits`). */
export const PolicyLimitsSchema = z.strictObject({
  maxArgumentBytes: z
    .number()
    .int()
    .positive()
    .default(1_048_576)
    .describe('Arguments whose JSON encoding is larger than this are denied before any rule runs.'),
  maxArgumentDepth: z
    .number()
    .int()
    .positive()
    .default(64)
    .describe('Arguments nested deeper than this (objects and lists) are denied before any rule runs.'),
  evalDeadlineMs: z
    .number()
    .int()
    .positive()
    .default(100)
    .describe('A rule whose comprehensions run longer than this is stopped, which denies the call.'),
  maxComprehensionNesting: z
    .number()
    .int()
    .positive()
    .default(2)
    .describe(
      'Load-time bound on nested comprehensions (all/exists/exists_one/map/filter) in one expression.',
    ),
});

export type PolicyLimits = z.infer<typeof PolicyLimitsSchema>;

/** When a changed policy folder is loaded; part of the config file (`policyReload`). */
export const PolicyReloadSchema = z.strictObject({
  /**
   * A change is loaded once no policy file has changed for this long and two reads this far apart found
   * the same content, so a file still being written is never taken as the new policy.
   */
  settleMs: z
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(1_000)
    .describe(
      'A changed policy folder is loaded once no policy file has changed for this long and two reads this far apart agree (100-5000 ms is sensible).',
    ),
});
