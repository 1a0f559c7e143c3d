import { z } from 'zod';

/**
 * How the audit log writes: segment size, commit batching, checkpoint cadence and where checkpoints
 * are copied. The directory and the key file are placed by the config that embeds this.
 */
export const AuditLogSettingsSchema = z.strictObject({
  segmentMaxBytes: z
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024)
    .describe('A segment file that would grow past this many bytes is closed and a new one started.'),
  rotateDaily: z
    .boolean()
    .default(true)
    .describe('Start a new segment file with the first record of each UTC day.'),
  maxRecordBytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024)
    .describe('A record whose canonical JSON is larger than this is refused (and its call with it).'),
  groupCommit: z
    .strictObject({
      maxDelayMs: z
        .number()
        .int()
        .min(0)
        .default(5)
        .describe(
          'A group-committed record a caller waits for waits at most this long for others before its batch is fsynced.',
        ),
      queuedMaxDelayMs: z
        .number()
        .int()
        .min(0)
        .default(50)
        .describe(
          "A record nobody waits for (an allowed call's) waits at most this long before its batch is written and fsynced: what a crash can lose of allowed calls' records.",
        ),
      maxRecords: z
        .number()
        .int()
        .positive()
        .default(512)
        .describe('A batch this large is fsynced at once, without waiting.'),
    })
    .prefault({}),
  checkpoint: z
    .strictObject({
      everyRecords: z
        .number()
        .int()
        .positive()
        .default(1000)
        .describe('Sign a checkpoint once this many records are not covered by one.'),
      everySeconds: z
        .number()
        .positive()
        .default(60)
        .describe(
          'Sign a checkpoint this often while records are not covered by one (and always at shutdown).',
        ),
    })
    .prefault({}),
  mirror: z
    .strictObject({
      dir: z
        .string()
        .optional()
        .describe('Also append every checkpoint to checkpoints.jsonl in this directory.'),
      url: z
        .url({ protocol: /^https?$/ })
        .optional()
        .describe('Also POST every checkpoint (text/plain, the signed note) to this URL.'),
      headers: z
        .record(z.string(), z.string())
        .default({})
        .describe('Headers of the POST, such as Authorization; never logged.'),
      timeoutMs: z.number().int().positive().default(10_000).describe('Time limit of one copy to the URL.'),
    })
    .prefault({}),
});

export type AuditLogSettings = z.infer<typeof AuditLogSettingsSchema>;
