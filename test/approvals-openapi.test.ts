import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenRecords } from '../src/approvals/quarantine.js';
import {
  PASSWORDS,
  startLocalApprovalWeb,
  type ApprovalWebHarness,
  type FakeApprovalService,
} from './helpers/approvals.js';
import { sampleRequest } from './store/helpers.js';

/**
 * GET /api/openapi.json describes the approval API, and every answer the API really gives, in every
 * status the document names, fits the document's schema for that operation and status. Every
 * operation the document lists is called here, so a new route or a changed answer cannot go unnoticed.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let service: FakeApprovalService;
let web: ApprovalWebHarness;
let document: Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
/** Operation and status pairs that an answer was checked against. */
const checked = new Set<string>();

beforeAll(async () => {
  const { quarantined } = screenRecords([{ ...sampleRequest(9), digest: '0'.repeat(64) }], new Date());
  ({ service, web } = await startLocalApprovalWeb({ quarantined }));
  const answer = await request(`${web.url}/api/openapi.json`);
  expect(answer.statusCode).toBe(200);
  document = (await answer.body.json()) as Json;
  ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
});
afterAll(() => web?.close());

function validatorFor(schema: Json): ValidateFunction {
  // Component references resolve against the document's own components.
  const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/'));
  return ajv.compile(rewritten);
}

/** Calls the API and checks the answer against the document's schema for this operation and status. */
async function call(
  method: 'GET' | 'POST' | 'DELETE',
  route: string,
  path: string,
  options: { token?: string; basic?: string; body?: unknown } = {},
) {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.basic) headers.authorization = `Basic ${Buffer.from(options.basic).toString('base64')}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await request(`${web.url}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.body.text();
  const operation = document.paths[route]?.[method.toLowerCase()];
  expect(operation, `${method} ${route} is in the document`).toBeDefined();
  const documented = operation.responses[String(response.statusCode)];
  expect(documented, `${method} ${route} answered ${response.statusCode}: ${text}`).toBeDefined();
  const schema = documented.content?.['application/json']?.schema;
  const body = text ? (JSON.parse(text) as Json) : undefined;
  if (schema) {
    const validate = validatorFor(schema);
    expect(
      validate(body),
      `${method} ${path} ${response.statusCode}: ${ajv.errorsText(validate.errors)}`,
    ).toBe(true);
  } else {
    expect(text).toBe('');
  }
  checked.add(`${method.toLowerCase()} ${route} ${response.statusCode}`);
  return { status: response.statusCode, body: body as Json };
}

describe('the approval API against its OpenAPI document', () => {
  it('is an OpenAPI 3.1 document of every route', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths).sort()).toEqual([
      '/api/approvals',
      '/api/approvals/{id}',
      '/api/approvals/{id}/decision',
      '/api/openapi.json',
      '/api/tokens',
      '/api/tokens/current',
    ]);
  });

  it('answers every operation as documented, refusals included', async () => {
    await call('GET', '/api/openapi.json', '/api/openapi.json');
    expect((await call('POST', '/api/tokens', '/api/tokens', { basic: 'bob:wrong' })).status).toBe(401);
    expect((await call('POST', '/api/tokens', '/api/tokens', { basic: 'bob', body: {} })).status).toBe(400);
    const issued = await call('POST', '/api/tokens', '/api/tokens', {
      basic: `bob:${PASSWORDS.bob}`,
      body: { label: 'openapi test' },
    });
    expect(issued.status).toBe(201);
    const token = issued.body.token as string;
    const alice = (await call('POST', '/api/tokens', '/api/tokens', { basic: `alice:${PASSWORDS.alice}` }))
      .body.token as string;

    const pending = await service.add();
    const toReject = await service.add();
    const approved = await service.add();
    expect((await call('GET', '/api/approvals', '/api/approvals')).status).toBe(401);
    expect((await call('GET', '/api/approvals', '/api/approvals?state=nope', { token })).status).toBe(400);
    const decision = '/api/approvals/{id}/decision';
    expect(
      (await call('POST', decision, `/api/approvals/${approved.id}/decision`, { token, body: {} })).status,
    ).toBe(400);
    expect(
      (
        await call('POST', decision, `/api/approvals/${approved.id}/decision`, {
          token,
          body: { decision: 'approve' },
        })
      ).body.approval.state,
    ).toBe('approved');
    expect(
      (
        await call('POST', decision, `/api/approvals/${approved.id}/decision`, {
          token,
          body: { decision: 'approve' },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await call('POST', decision, `/api/approvals/${pending.id}/decision`, {
          token: alice,
          body: { decision: 'approve' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await call('POST', decision, '/api/approvals/no-such-id/decision', {
          token,
          body: { decision: 'approve' },
        })
      ).status,
    ).toBe(404);
    await call('POST', decision, `/api/approvals/${toReject.id}/decision`, {
      token,
      body: { decision: 'reject', reason: 'not this week' },
    });
    // One that ran and answered with a tool error: its outcome and result are in the document too.
    await service.store.transition(approved.id, 'approved', (r) => ({
      ...r,
      state: 'executing',
      execution: { startedAt: new Date().toISOString() },
    }));
    await service.store.transition(approved.id, 'executing', (r) => ({
      ...r,
      state: 'executed',
      execution: {
        ...r.execution,
        finishedAt: new Date().toISOString(),
        result: { content: [{ type: 'text', text: 'disk full' }], isError: true },
      },
    }));

    const listed = await call('GET', '/api/approvals', '/api/approvals', { token });
    expect(listed.body.approvals.map((a: Json) => a.state).sort()).toEqual([
      'executed',
      'pending',
      'quarantined',
      'rejected',
    ]);
    // A page with more to follow: its `next` is in the document too.
    const paged = await call('GET', '/api/approvals', '/api/approvals?limit=1', { token });
    expect(paged.body.next).toEqual(expect.any(String));
    expect((await call('GET', '/api/approvals', '/api/approvals?limit=1&cursor=x', { token })).status).toBe(
      400,
    );
    const one = '/api/approvals/{id}';
    expect(
      (await call('GET', one, `/api/approvals/${approved.id}`, { token })).body.approval.outcome.kind,
    ).toBe('executed-with-tool-error');
    expect(
      (await call('GET', one, `/api/approvals/${listed.body.approvals.at(-1).id}`, { token })).status,
    ).toBe(200);
    expect((await call('GET', one, '/api/approvals/no-such-id', { token })).status).toBe(404);
    expect((await call('GET', one, '/api/approvals/x', {})).status).toBe(401);

    expect(
      (await call('DELETE', '/api/tokens/current', '/api/tokens/current', { token: alice })).status,
    ).toBe(204);
    expect(
      (await call('DELETE', '/api/tokens/current', '/api/tokens/current', { token: alice })).status,
    ).toBe(401);

    // Every operation the document lists was called and checked (429 needs a burst of failed sign-ins).
    for (const [route, operations] of Object.entries(document.paths as Json)) {
      for (const method of Object.keys(operations as Json)) {
        expect(
          [...checked].some((c) => c.startsWith(`${method} ${route} 2`)),
          `${method} ${route}`,
        ).toBe(true);
      }
    }
  });

  it('a document that disagrees with an answer is caught: a field the schema does not know fails', () => {
    const validate = validatorFor(
      document.paths['/api/approvals/{id}'].get.responses['200'].content['application/json'].schema,
    );
    const request = { ...sampleRequest(1), tally: [] };
    expect(validate({ approval: request })).toBe(true);
    expect(validate({ approval: { ...request, surprise: 1 } })).toBe(false);
  });
});
