import { z } from 'zod';
import { parseJsonPath } from './paths.js';

export const DEFAULT_MAX_SCAN_CHARS = 1_048_576;
export const DEFAULT_MAX_DEPTH = 64;

/** `audit.redact` of the config: what is left out wherever a call is shown beyond its approvers. */
export const RedactSettingsSchema = z.strictObject({
  names: z
    .array(z.string().min(1))
    .default([])
    .describe(
      'Argument or field names (any depth, case-insensitive) whose values are always redacted, besides the built-in secret names.',
    ),
  paths: z
    .array(
      z
        .string()
        .min(1)
        .superRefine((path, ctx) => {
          const parsed = parseJsonPath(path);
          if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
        }),
    )
    .default([])
    .describe(
      "JSON paths into the arguments whose values are redacted: $.a.b, $['a b'], $.items[2], $.items[*].token, $..token.",
    ),
  detect: z
    .boolean()
    .default(true)
    .describe(
      'Also redact values shaped like secrets: bearer tokens, private keys, cloud access keys, JWTs, passwords in URLs.',
    ),
  maxScanChars: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_MAX_SCAN_CHARS)
    .describe('A string longer than this is replaced whole by [REDACTED:too-long] instead of scanned.'),
  maxDepth: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_MAX_DEPTH)
    .describe('Values nested deeper than this are replaced by [REDACTED:too-deep].'),
});
export type RedactSettings = z.infer<typeof RedactSettingsSchema>;
