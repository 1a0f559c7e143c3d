import { z } from 'zod';
import { checkTemplate } from './template.js';

/**
 * Credentials a downstream server gets for one call only: where each comes from (`source`), how it
 * reaches the server (`inject`), and which fields are rendered from the approved call (CEL templates,
 * type-checked here, at load, like policies). A policy rule's `credentials` names which calls get which.
 */

const CredentialName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'credential names are 1-64 characters of A-Z a-z 0-9 _ . -');

/** A CEL expression over the approved call (`args`, `tool`, `caller`, `request`, `now`, `vars`). */
const Template = (what: string) =>
  z
    .string()
    .min(1)
    .superRefine((source, ctx) => {
      const problem = checkTemplate(source, what);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

const StaticSourceSchema = z
  .strictObject({
    type: z.literal('static'),
    value: z.string().min(1).optional().describe('The secret itself; use ${VAR}.'),
    file: z.string().min(1).optional().describe('A file holding the secret (read at each call, trimmed).'),
  })
  .superRefine((source, ctx) => {
    if ((source.value === undefined) === (source.file === undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'a static credential takes exactly one of "value" and "file"',
      });
  })
  .describe('A secret Gatehouse holds: handed to the server only for the calls a rule names it for.');

const CommandSourceSchema = z
  .strictObject({
    type: z.literal('command'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z
      .record(z.string(), z.string())
      .default({})
      .describe("The command's environment besides the safe inherited one (PATH, HOME, …); use ${VAR}."),
    scope: Template('scope')
      .optional()
      .describe('CEL rendering the scope the command is asked for (in its input as `scope`).'),
  })
  .describe(
    'A command that prints the credential on stdout (a cloud or vault CLI); it reads the approved call as JSON on stdin.',
  );

const OAuthSourceSchema = z
  .strictObject({
    type: z.literal('oauth'),
    tokenUrl: z.url({ protocol: /^https?$/ }).describe("The authorization server's token endpoint."),
    grant: z
      .enum(['client_credentials', 'token_exchange'])
      .default('client_credentials')
      .describe('client_credentials, or RFC 8693 token exchange of `subjectToken`.'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional().describe('Use ${VAR}; sent with HTTP Basic authentication.'),
    subjectToken: z
      .string()
      .min(1)
      .optional()
      .describe('The token to exchange (token_exchange); use ${VAR}.'),
    subjectTokenType: z.string().min(1).default('urn:ietf:params:oauth:token-type:access_token'),
    requestedTokenType: z.string().min(1).optional(),
    scope: Template('scope')
      .optional()
      .describe('CEL rendering `scope` (a string, or a list joined by spaces).'),
    audience: Template('audience').optional().describe('CEL rendering `audience` (RFC 8693).'),
    resource: Template('resource').optional().describe('CEL rendering `resource` (RFC 8707/8693).'),
    revocationUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        'RFC 7009 revocation endpoint: the token is revoked after the call; absent: it is discarded.',
      ),
  })
  .superRefine((source, ctx) => {
    if (source.grant === 'token_exchange' && !source.subjectToken)
      ctx.addIssue({
        code: 'custom',
        path: ['subjectToken'],
        message: 'token_exchange needs a subjectToken',
      });
  })
  .describe('An OAuth 2.0 access token minted for the call.');

const VaultSourceSchema = z
  .strictObject({
    type: z.literal('vault'),
    address: z.url({ protocol: /^https?$/ }).describe("Vault's address, such as https://vault:8200."),
    token: z.string().min(1).describe("Gatehouse's Vault token; use ${VAR}."),
    namespace: z.string().min(1).optional().describe('X-Vault-Namespace (Vault Enterprise).'),
    path: Template('path').describe(
      "CEL rendering the secret's path under /v1/, such as 'database/creds/' + args.role.",
    ),
    field: z.string().min(1).describe('The field of the response `data` that is the credential.'),
  })
  .describe('A Vault dynamic secret: a lease read for the call and revoked after it.');

export const CredentialSourceSchema = z.discriminatedUnion('type', [
  StaticSourceSchema,
  CommandSourceSchema,
  OAuthSourceSchema,
  VaultSourceSchema,
]);

const HeaderInjectionSchema = z.strictObject({
  header: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not an HTTP header name')
    .describe('Sent on that one tools/call request only.'),
  prefix: z.string().default('').describe("Put before the value: 'Bearer '."),
});

const EnvInjectionSchema = z.strictObject({
  env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name')
    .describe('Set in a process started for that one call (stdio servers with startPerCall).'),
  prefix: z.string().default(''),
});

export const InjectionSchema = z.union([HeaderInjectionSchema, EnvInjectionSchema]);

export const CredentialSchema = z.strictObject({
  source: CredentialSourceSchema,
  inject: InjectionSchema,
});

export const ServerCredentialsSchema = z
  .record(CredentialName, CredentialSchema)
  .optional()
  .describe('Credentials this server gets for one call only, by name; policy rules name them.');

/** Bounds on minting and revoking: a call never waits on a credential longer than this. */
export const CredentialSettingsSchema = z.strictObject({
  mintTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe(
      'Longest a credential may take to mint; longer fails the call closed (CREDENTIAL_UNAVAILABLE).',
    ),
  revokeTimeoutMs: z
    .number()
    .int()
    .positive()
    .default(5_000)
    .describe('Longest a revocation may take after the call; a failed one is logged and recorded.'),
});

export type CredentialSource = z.infer<typeof CredentialSourceSchema>;
export type CredentialConfig = z.infer<typeof CredentialSchema>;
export type Injection = z.infer<typeof InjectionSchema>;
export type CredentialSettings = z.infer<typeof CredentialSettingsSchema>;

/**
 * What must hold between a server and its credentials: headers only for HTTP servers (Streamable HTTP:
 * the legacy SSE transport has no per-request headers), environment variables only for stdio servers
 * marked safe to start per call.
 */
export function checkServerCredentials(
  server: {
    command?: string;
    type?: string;
    startPerCall?: boolean;
    credentials?: Record<string, CredentialConfig>;
  },
  ctx: z.RefinementCtx,
): void {
  for (const [name, credential] of Object.entries(server.credentials ?? {})) {
    const path = ['credentials', name, 'inject'];
    if ('header' in credential.inject) {
      if (server.command !== undefined)
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'a stdio server takes credentials in its environment ("env"), not in a header',
        });
      else if (server.type === 'sse')
        ctx.addIssue({
          code: 'custom',
          path,
          message: 'the legacy SSE transport cannot send a header on one request only; use Streamable HTTP',
        });
    } else if (server.command === undefined) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: 'an HTTP server takes credentials in a header ("header")',
      });
    } else if (server.startPerCall !== true) {
      ctx.addIssue({
        code: 'custom',
        path,
        message:
          'a stdio server cannot take a secret mid-life: a per-call credential needs a process started for ' +
          'that call; set "startPerCall": true if this server is safe to start per call',
      });
    }
  }
}
