import { z } from 'zod';

/** `approvals.store` names PostgreSQL when it is one of these URLs; anything else is a lowdb file. */
export const isPostgresUrl = (store: string) => /^postgres(?:ql)?:\/\//i.test(store);

/** The PostgreSQL store's settings (`approvals.postgres`); used only when `approvals.store` is a URL. */
export const PostgresSettingsSchema = z.strictObject({
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier (letters, digits, _)')
    .default('gatehouse')
    .describe("The database schema holding Gatehouse's tables; created by the first start."),
  tls: z
    .strictObject({
      mode: z
        .enum(['verify-full', 'require', 'disable'])
        .default('verify-full')
        .describe(
          "verify-full: TLS, the server's certificate checked against the CA and the host name; " +
            'require: TLS without checking the certificate; disable: no TLS (a local or private network only).',
        ),
      ca: z
        .string()
        .optional()
        .describe("PEM file of the CA that signed the server's certificate; default: the system's CAs."),
      cert: z.string().optional().describe('PEM client certificate file, for servers that ask for one.'),
      key: z.string().optional().describe('PEM private key file of the client certificate.'),
    })
    .prefault({})
    .describe('TLS to the database server.'),
  poolSize: z
    .number()
    .int()
    .positive()
    .default(10)
    .describe('Connections each replica keeps to the database at most.'),
  leaseMs: z
    .number()
    .int()
    .min(1_000)
    .default(30_000)
    .describe(
      'How long an execution claim outlives its replica: renewed every third of it while the replica ' +
        'lives; once it lapses, another replica records the execution as unknown.',
    ),
  pollIntervalMs: z
    .number()
    .int()
    .positive()
    .default(2_000)
    .describe(
      'How often a replica reads the changes of the others even without a notification (the backstop ' +
        'of LISTEN/NOTIFY).',
    ),
  replica: z
    .string()
    .min(1)
    .optional()
    .describe("This replica's name in execution claims and delivery leases; default: host name and pid."),
});
export type PostgresSettings = z.infer<typeof PostgresSettingsSchema>;
