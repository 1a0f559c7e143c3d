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
