import { z } from 'zod';
import { VERSION } from '../../version.js';
import { QuarantinedRecordSchema } from '../quarantine.js';
import { APPROVAL_STATES, ApprovalRequestSchema, PrincipalSchema } from '../request.js';
import { DecisionBodySchema, LIST_LIMIT, TokenRequestSchema } from './apiSchemas.js';

/**
 * The approval API as an OpenAPI 3.1 document, served at GET /api/openapi.json. Its schemas are made
 * from the zod schemas the store and the API use, so a field added there is in the document too; a
 * test checks real answers against it.
 */

const TallySchema = z.strictObject({
  rule: z.string(),
  quorum: z.number().int().positive(),
  approvedBy: z.array(z.string()).describe('Approvers whose approval counts for this rule.'),
  met: z.boolean(),
});

const OutcomeSchema = z.strictObject({
  kind: z.enum([
    ...APPROVAL_STATES.filter((s) => s !== 'pending' && s !== 'approved' && s !== 'executing'),
    'executed-with-tool-error',
  ]),
  text: z.string().describe("What happened, in Gatehouse's words."),
  detail: z.string().optional().describe("Untrusted text that says more (the tool's error, a reason), cut."),
});

const RequestViewSchema = ApprovalRequestSchema.extend({
  tally: z.array(TallySchema).describe('Per approve rule: its quorum and who has approved.'),
  outcome: OutcomeSchema.optional().describe('How it ended, once it has.'),
}).describe('One approval request exactly as stored (arguments and result included), with its tally.');

const RequestListItemSchema = RequestViewSchema.extend({
  argumentsRedacted: z.array(z.string()).describe('JSON paths of the arguments replaced by the redactor.'),
}).describe('A request in the list: arguments, reasons, result and error texts redacted (audit.redact).');

const QuarantinedViewSchema = QuarantinedRecordSchema.extend({
  state: z.literal('quarantined'),
  recovery: z.string().describe('What an operator does about it.'),
}).describe('A stored record that failed its checks: set aside, never run.');

const ErrorSchema = z
  .strictObject({ error: z.strictObject({ code: z.string(), message: z.string() }) })
  .describe('Every refusal: a code and a message for people; never a stack trace.');

const TokenSchema = z.strictObject({
  token: z.string().describe('Send as `Authorization: Bearer <token>`.'),
  id: z.string(),
  label: z.string(),
  expiresAt: z.iso.datetime({ offset: true }),
  principal: PrincipalSchema,
});

const SCHEMAS = {
  RequestView: RequestViewSchema,
  RequestListItem: RequestListItemSchema,
  QuarantinedView: QuarantinedViewSchema,
  DecisionBody: DecisionBodySchema,
  TokenRequest: TokenRequestSchema,
  Token: TokenSchema,
  Error: ErrorSchema,
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

const ref = (name: keyof typeof SCHEMAS) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string) => json(ref('Error'), description);
const approval = (schema: object) => ({
  type: 'object',
  properties: { approval: schema },
  required: ['approval'],
  additionalProperties: false,
});
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

let built: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  built ??= {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse approval API',
      version: VERSION,
      description:
        'Approval requests of a running Gatehouse, for programs and the `gatehouse approvals` CLI. ' +
        'Authenticate with a personal API token (from the approval page, or POST /api/tokens with a ' +
        'local account); never a cookie.',
    },
    components: {
      securitySchemes: {
        token: { type: 'http', scheme: 'bearer', description: 'A personal approver API token.' },
        account: {
          type: 'http',
          scheme: 'basic',
          description: 'A local approver account (approvers.accounts).',
        },
      },
      schemas: Object.fromEntries(
        Object.entries(SCHEMAS).map(([name, schema]) => [
          name,
          jsonSchema(schema, name === 'DecisionBody' || name === 'TokenRequest' ? 'input' : 'output'),
        ]),
      ),
    },
    security: [{ token: [] }],
    paths: {
      '/api/approvals': {
        get: {
          summary:
            'List approval requests, newest first, a page at a time, and quarantined records (redacted).',
          parameters: [
            {
              name: 'state',
              in: 'query',
              required: false,
              description: 'Only these states, comma-separated or repeated; none: every request.',
              schema: { type: 'string' },
            },
            {
              name: 'limit',
              in: 'query',
              required: false,
              description: `At most this many requests on the page (default ${LIST_LIMIT.default}).`,
              schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT.max, default: LIST_LIMIT.default },
            },
            {
              name: 'cursor',
              in: 'query',
              required: false,
              description:
                'The `next` of the page before, unchanged, for the page after it. Pages go by creation, ' +
                'so paging misses and repeats nothing while requests change.',
              schema: { type: 'string' },
            },
          ],
          responses: {
            200: {
              ...json(
                {
                  type: 'object',
                  properties: {
                    approvals: {
                      type: 'array',
                      items: { oneOf: [ref('RequestListItem'), ref('QuarantinedView')] },
                    },
                    next: {
                      type: 'string',
                      description:
                        'The cursor of the next page, when more may follow (a page may hold fewer than ' +
                        '`limit` then). Absent on the last page.',
                    },
                  },
                  required: ['approvals'],
                  additionalProperties: false,
                },
                'The requests of the page, the latest created first; quarantined records on the first page.',
              ),
              headers: {
                Link: {
                  description:
                    'RFC 8288 `rel="next"`: the next page, as a query to resolve against this URL, when `next` is there.',
                  schema: { type: 'string' },
                },
              },
            },
            400: error('An unknown state in ?state=, a limit out of range, or a cursor not given out here.'),
            401: error('No token, or an unknown, revoked or expired one.'),
          },
        },
      },
      '/api/approvals/{id}': {
        get: {
          summary: 'One request exactly as stored, or a quarantined record as found.',
          parameters: [idParameter],
          responses: {
            200: json(approval({ oneOf: [ref('RequestView'), ref('QuarantinedView')] }), 'The request.'),
            401: error('No valid token.'),
            404: error('No request or quarantined record has this id.'),
          },
        },
      },
      '/api/approvals/{id}/decision': {
        post: {
          summary: "Approve or reject a request as the token's approver.",
          parameters: [idParameter],
          requestBody: { required: true, content: { 'application/json': { schema: ref('DecisionBody') } } },
          responses: {
            200: json(approval(ref('RequestView')), 'The request after the decision.'),
            400: error('A body that is not a decision, or a rejection without a reason.'),
            401: error('No valid token.'),
            403: error('The approver is the requester, or is not listed for any rule of the request.'),
            404: error('No request has this id.'),
            409: error('The request no longer takes decisions, or this approver has decided already.'),
          },
        },
      },
      '/api/tokens': {
        post: {
          summary: 'A personal API token for a local approver account.',
          security: [{ account: [] }],
          requestBody: { required: false, content: { 'application/json': { schema: ref('TokenRequest') } } },
          responses: {
            201: json(ref('Token'), 'The token; it is shown only this once.'),
            400: error('Malformed credentials or body.'),
            401: error('No credentials, or a wrong user name or password.'),
            429: error('Too many failed sign-ins; Retry-After says when to try again.'),
          },
        },
      },
      '/api/tokens/current': {
        delete: {
          summary: 'Revoke the token this request carries.',
          responses: { 204: { description: 'Revoked.' }, 401: error('No valid token.') },
        },
      },
      '/api/openapi.json': {
        get: {
          summary: 'This document.',
          security: [],
          responses: { 200: json({ type: 'object' }, 'The OpenAPI 3.1 document.') },
        },
      },
    },
  };
  return built;
}
