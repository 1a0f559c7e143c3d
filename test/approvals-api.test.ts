import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { QUARANTINE_RECOVERY, screenRecords } from '../src/approvals/quarantine.js';
import type { ApprovalService } from '../src/approvals/service.js';
import {
  PASSWORDS,
  startApprovalWeb,
  startLocalApprovalWeb,
  testAccounts,
  testConfig,
  type ApprovalWebHarness,
  type FakeApprovalService,
} from './helpers/approvals.js';
import { sampleRequest } from './store/helpers.js';

/** The JSON API over real HTTP: every status it answers with, and that refusals change nothing. */

const SESSION_TTL_MS = 3_600_000;
let clock = Date.parse('2026-03-01T09:00:00.000Z');
const now = () => clock;
let service: FakeApprovalService;
let web: ApprovalWebHarness;

beforeAll(async () => {
  ({ service, web } = await startLocalApprovalWeb({ now, sessionTtlMs: SESSION_TTL_MS }));
});
afterAll(() => web.close());

beforeEach(() => {
  // A day passes between tests, so the sign-in failures one test makes never throttle the next.
  clock += 24 * 3_600_000;
});

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function call(
  method: string,
  path: string,
  options: { token?: string; basic?: string; body?: unknown; headers?: Record<string, string> } = {},
  base = web.url,
) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.basic) headers.authorization = `Basic ${Buffer.from(options.basic).toString('base64')}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await request(`${base}${path}`, { method: method as 'GET', headers, body });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    json: (text ? JSON.parse(text) : undefined) as Json,
    text,
  };
}

async function tokenFor(user: keyof typeof PASSWORDS, base = web.url): Promise<string> {
  const { status, json } = await call(
    'POST',
    '/api/tokens',
    { basic: `${user}:${PASSWORDS[user]}`, body: { label: 'test' } },
    base,
  );
  expect(status).toBe(201);
  return json.token as string;
}

describe('authentication', () => {
  it('401 without a token, with a Bearer challenge', async () => {
    const res = await call('GET', '/api/approvals');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    expect(res.json.error.code).toBe('UNAUTHENTICATED');
  });

  it('401 for an unknown token', async () => {
    const res = await call('GET', '/api/approvals', { token: 'gatehouse_not-a-real-token' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('invalid_token');
  });

  it('issues a token for a local account over HTTP Basic, which then authenticates', async () => {
    const { status, json } = await call('POST', '/api/tokens', { basic: `bob:${PASSWORDS.bob}` });
    expect(status).toBe(201);
    expect(json.token).toMatch(/^gatehouse_[A-Za-z0-9_-]{43}$/);
    expect(json.principal).toEqual({ id: 'bob', groups: ['security'] });
    expect(Date.parse(json.expiresAt)).toBe(clock + SESSION_TTL_MS);
    expect((await call('GET', '/api/approvals', { token: json.token })).status).toBe(200);
  });

  it('caps the token lifetime at the sign-in lifetime and honours a shorter one', async () => {
    const short = await call('POST', '/api/tokens', {
      basic: `bob:${PASSWORDS.bob}`,
      body: { ttlSeconds: 60 },
    });
    expect(Date.parse(short.json.expiresAt)).toBe(clock + 60_000);
    const long = await call('POST', '/api/tokens', {
      basic: `bob:${PASSWORDS.bob}`,
      body: { ttlSeconds: 10 ** 9 },
    });
    expect(Date.parse(long.json.expiresAt)).toBe(clock + SESSION_TTL_MS);
  });

  it('401 with the same message for a wrong password and an unknown user', async () => {
    const wrong = await call('POST', '/api/tokens', { basic: 'bob:not-his-password' });
    const unknown = await call('POST', '/api/tokens', { basic: 'mallory:whatever' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json).toEqual(unknown.json);
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it('401 without Basic credentials, 400 for malformed ones or a bad body', async () => {
    expect((await call('POST', '/api/tokens')).status).toBe(401);
    const malformed = await call('POST', '/api/tokens', {
      headers: { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` },
    });
    expect(malformed.status).toBe(400);
    const badBody = await call('POST', '/api/tokens', {
      basic: `bob:${PASSWORDS.bob}`,
      body: { ttlSeconds: -1 },
    });
    expect(badBody.status).toBe(400);
    expect(badBody.json.error.message).toContain('ttlSeconds');
  });

  it('429 with Retry-After after repeated failures for one account, even with the right password', async () => {
    for (let i = 0; i < 5; i += 1) {
      expect((await call('POST', '/api/tokens', { basic: 'carol:guess' })).status).toBe(401);
    }
    const throttled = await call('POST', '/api/tokens', { basic: `carol:${PASSWORDS.carol}` });
    expect(throttled.status).toBe(429);
    expect(throttled.json.error.code).toBe('RATE_LIMITED');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    clock += 16 * 60_000; // the window passes
    expect((await call('POST', '/api/tokens', { basic: `carol:${PASSWORDS.carol}` })).status).toBe(201);
  });

  it('401 once the token has expired, and after DELETE /api/tokens/current revoked it', async () => {
    const expiring = await tokenFor('bob');
    clock += SESSION_TTL_MS;
    expect((await call('GET', '/api/approvals', { token: expiring })).status).toBe(401);

    const token = await tokenFor('bob');
    expect((await call('DELETE', '/api/tokens/current', { token })).status).toBe(204);
    expect((await call('GET', '/api/approvals', { token })).status).toBe(401);
  });
});

describe('reading requests', () => {
  it('lists requests with their tally, filters by state, and refuses an unknown state', async () => {
    const token = await tokenFor('bob');
    const request = await service.add();
    const all = await call('GET', '/api/approvals', { token });
    expect(all.status).toBe(200);
    const listed = all.json.approvals.find((a: Json) => a.id === request.id);
    expect(listed).toMatchObject({ state: 'pending', arguments: request.arguments, digest: request.digest });
    expect(listed.tally).toEqual([{ rule: 'fs-writes', quorum: 1, approvedBy: [], met: false }]);

    const pending = await call('GET', '/api/approvals?state=pending', { token });
    expect(pending.json.approvals.every((a: Json) => a.state === 'pending')).toBe(true);
    const none = await call('GET', '/api/approvals?state=executed,failed', { token });
    expect(none.json.approvals.every((a: Json) => ['executed', 'failed'].includes(a.state))).toBe(true);

    const bad = await call('GET', '/api/approvals?state=bogus', { token });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'REQUEST_INVALID' });
    expect(bad.json.error.message).toContain('pending');
  });

  it('lists quarantined records with state quarantined, filters them like a state, and refuses decisions with 409', async () => {
    const CANARY = 'c4nary-quarantined-1a2b';
    const tampered = { ...sampleRequest(9), arguments: { path: '/etc/shadow', token: CANARY } };
    const { quarantined } = screenRecords([tampered, { id: 'broken' }], new Date(clock));
    const other = await startLocalApprovalWeb({ now, quarantined });
    try {
      const token = await tokenFor('bob', other.web.url);
      const get = (path: string) => call('GET', path, { token }, other.web.url);
      const pending = await other.service.add();
      const ids = async (path: string) => (await get(path)).json.approvals.map((a: Json) => [a.id, a.state]);
      expect(await ids('/api/approvals')).toEqual([
        [pending.id, 'pending'],
        ['req-9', 'quarantined'],
        ['broken', 'quarantined'],
      ]);
      // Listed redacted, like a request; shown exactly on its own.
      const listed = await get('/api/approvals?state=quarantined');
      expect(listed.text).not.toContain(CANARY);
      expect(listed.json.approvals[0].record.arguments).toEqual({ path: '/etc/shadow', token: '[REDACTED]' });
      expect(await ids('/api/approvals?state=pending')).toEqual([[pending.id, 'pending']]);
      expect(await ids('/api/approvals?state=quarantined')).toEqual([
        ['req-9', 'quarantined'],
        ['broken', 'quarantined'],
      ]);
      const one = await get('/api/approvals/req-9');
      expect(one.status).toBe(200);
      expect(one.json.approval).toEqual({
        ...quarantined[0],
        state: 'quarantined',
        recovery: QUARANTINE_RECOVERY,
      });
      const refused = await call(
        'POST',
        '/api/approvals/req-9/decision',
        { token, body: { decision: 'approve' } },
        other.web.url,
      );
      expect(refused.status).toBe(409);
      expect(refused.json.error.code).toBe('APPROVAL_QUARANTINED');
      expect(refused.json.error.message).toContain('approval req-9 is quarantined (DIGEST_MISMATCH)');
    } finally {
      await other.web.close();
    }
  });

  it('pages through the requests newest first with ?limit= and the cursor, missing and repeating none while they change', async () => {
    const { quarantined } = screenRecords([{ id: 'broken' }], new Date(clock));
    const other = await startLocalApprovalWeb({ now, quarantined });
    try {
      const token = await tokenFor('bob', other.web.url);
      const get = (path: string) => call('GET', path, { token }, other.web.url);
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await other.service.add({}, new Date(clock + i))).id);
      const newestFirst = [...made].reverse();

      const first = await get('/api/approvals?limit=2');
      expect(first.status).toBe(200);
      expect(first.json.approvals.map((a: Json) => a.id)).toEqual([...newestFirst.slice(0, 2), 'broken']);
      expect(first.headers.link).toBe(`<?limit=2&cursor=${encodeURIComponent(first.json.next)}>; rel="next"`);
      // The link resolves against the URL asked for, and gives the same page as the cursor.
      const linked = new URL(
        /^<(.*)>/.exec(first.headers.link as string)![1]!,
        `${other.web.url}/api/approvals?limit=2`,
      );
      expect((await get(`${linked.pathname}${linked.search}`)).json.approvals.map((a: Json) => a.id)).toEqual(
        newestFirst.slice(2, 4),
      );
      // A request decided between two pages keeps its place: pages go by creation.
      const decided = await call(
        'POST',
        `/api/approvals/${made[2]}/decision`,
        { token, body: { decision: 'approve' } },
        other.web.url,
      );
      expect(decided.status).toBe(200);
      const second = await get(`/api/approvals?limit=2&cursor=${first.json.next}`);
      expect(second.json.approvals.map((a: Json) => [a.id, a.state])).toEqual([
        [made[2], 'approved'],
        [made[1], 'pending'],
      ]);
      const last = await get(`/api/approvals?limit=2&cursor=${second.json.next}`);
      expect(last.json.approvals.map((a: Json) => a.id)).toEqual([made[0]]);
      expect(last.json.next).toBeUndefined();
      expect(last.headers.link).toBeUndefined();

      // The state filter holds on every page, and the link carries it on.
      const pending = await get('/api/approvals?state=pending&limit=3');
      expect(pending.json.approvals.map((a: Json) => a.id)).toEqual([made[4], made[3], made[1]]);
      expect(pending.headers.link).toMatch(/^<\?state=pending&limit=3&cursor=[\w-]+>; rel="next"$/);
      const rest = await get(`/api/approvals?state=pending&limit=3&cursor=${pending.json.next}`);
      expect(rest.json.approvals.map((a: Json) => a.id)).toEqual([made[0]]);
      expect(rest.json.next).toBeUndefined();
      // Without ?limit= a page holds up to 100: all of these, and no next.
      const whole = await get('/api/approvals');
      expect(whole.json.approvals).toHaveLength(6);
      expect(whole.json.next).toBeUndefined();

      for (const [query, says] of [
        ['limit=0', '?limit= takes a whole number from 1 to 1000'],
        ['limit=1001', '?limit= takes a whole number from 1 to 1000'],
        ['limit=2.5', '?limit= takes a whole number from 1 to 1000'],
        ['limit=ten', '?limit= takes a whole number from 1 to 1000'],
        ['cursor=bm90LWEtY3Vyc29y', 'the cursor is not one this Gatehouse gave out'],
        ['cursor=%00%27%3B--', 'the cursor is not one this Gatehouse gave out'],
        [`cursor=${Buffer.from('{"id":1}').toString('base64url')}`, 'the cursor is not one this Gatehouse'],
      ]) {
        const refused = await get(`/api/approvals?${query}`);
        expect(refused.status, query).toBe(400);
        expect(refused.json.error.code, query).toMatch(/^(REQUEST_INVALID|LIST_CURSOR_INVALID)$/);
        expect(refused.json.error.message, query).toContain(says);
      }
    } finally {
      await other.web.close();
    }
  });

  it('gets one request; 404 for an unknown id', async () => {
    const token = await tokenFor('bob');
    const request = await service.add();
    const one = await call('GET', `/api/approvals/${request.id}`, { token });
    expect(one.status).toBe(200);
    expect(one.json.approval).toMatchObject({ id: request.id, caller: request.caller, rules: ['fs-writes'] });
    const missing = await call('GET', '/api/approvals/no-such-id', { token });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('APPROVAL_NOT_FOUND');
  });

  it('lists arguments and texts redacted, and shows one request exactly (who sees what)', async () => {
    const token = await tokenFor('bob');
    const CANARY = 'c4nary-list-5e6f7a';
    const request = await service.add({
      arguments: {
        path: '/srv/deploy.sh',
        password: CANARY,
        env: { DATABASE_URL: `postgres://app:${CANARY}@db/prod` },
        headers: [`Authorization: Bearer ${CANARY}0123`],
      },
      reason: 'deploys need a second pair of eyes',
    });
    await service.decide(request.id, {
      approver: { id: 'bob', groups: ['security'] },
      decision: 'reject',
      reason: `not with token=${CANARY} in it`,
    });

    const list = await call('GET', '/api/approvals', { token });
    expect(list.text).not.toContain(CANARY);
    const listed = list.json.approvals.find((a: Json) => a.id === request.id);
    expect(listed.arguments).toEqual({
      path: '/srv/deploy.sh',
      password: '[REDACTED]',
      env: { DATABASE_URL: 'postgres://app:[REDACTED:url-password]@db/prod' },
      headers: ['Authorization: [REDACTED:named-secret]'],
    });
    expect(listed.argumentsRedacted).toEqual(['$.password', '$.env.DATABASE_URL', '$.headers[0]']);
    expect(listed.decisions[0].reason).toBe('not with token=[REDACTED:named-secret] in it');
    // The digest still names the exact call.
    expect(listed.digest).toBe(request.digest);

    const one = await call('GET', `/api/approvals/${request.id}`, { token });
    expect(one.json.approval.arguments).toEqual(request.arguments);
    expect(one.json.approval.decisions[0].reason).toContain(CANARY);
  });

  it('404 for an unknown API route and 405 with Allow for a wrong method', async () => {
    const token = await tokenFor('bob');
    expect((await call('GET', '/api/approvals/a/b/c', { token })).status).toBe(404);
    const wrong = await call('DELETE', '/api/approvals', { token });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    expect((await call('GET', '/api/approvals/x/decision', { token })).status).toBe(405);
  });
});

describe('deciding', () => {
  /** POSTs a decision as `user`; `body` may be raw text. */
  async function decideAs(
    user: keyof typeof PASSWORDS,
    id: string,
    body: unknown,
    headers?: Record<string, string>,
  ) {
    const token = await tokenFor(user);
    return call('POST', `/api/approvals/${id}/decision`, { token, body, ...(headers ? { headers } : {}) });
  }

  it('200 for an approval, which moves the request to approved and records the channel', async () => {
    const request = await service.add();
    const res = await decideAs('bob', request.id, { decision: 'approve', reason: 'looks right' });
    expect(res.status).toBe(200);
    expect(res.json.approval.state).toBe('approved');
    expect(res.json.approval.decisions[0]).toMatchObject({
      approver: { id: 'bob' },
      decision: 'approve',
      reason: 'looks right',
      channel: 'api',
    });
    expect((await service.get(request.id))!.state).toBe('approved');
  });

  it('200 for a rejection with a reason', async () => {
    const request = await service.add();
    const res = await decideAs('bob', request.id, { decision: 'reject', reason: 'wrong file' });
    expect(res.status).toBe(200);
    expect(res.json.approval).toMatchObject({
      state: 'rejected',
      closed: { reason: 'rejected by bob: wrong file' },
    });
  });

  it('409 on a request that is no longer pending, naming its state', async () => {
    const request = await service.add({
      requirements: [{ rule: 'r', approvers: ['bob', 'dave'], quorum: 1 }],
    });
    await decideAs('bob', request.id, { decision: 'approve' });
    const again = await decideAs('bob', request.id, { decision: 'reject', reason: 'changed my mind' });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('APPROVAL_NOT_PENDING');
    expect(again.json.error.message).toContain('approved');
  });

  it('409 for a second decision by the same approver and for an expired request', async () => {
    const quorum = await service.add({
      requirements: [{ rule: 'two', approvers: ['group:security'], quorum: 2 }],
    });
    expect((await decideAs('bob', quorum.id, { decision: 'approve' })).status).toBe(200);
    const twice = await decideAs('bob', quorum.id, { decision: 'approve' });
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe('APPROVAL_ALREADY_DECIDED');

    const short = await service.add({ ttlMs: 1_000 });
    clock += 2_000;
    const expired = await decideAs('bob', short.id, { decision: 'approve' });
    expect(expired.status).toBe(409);
    expect(expired.json.error.code).toBe('APPROVAL_EXPIRED');
  });

  it.each([
    {
      who: 'the requester, even when listed',
      user: 'alice' as const,
      code: 'APPROVER_IS_REQUESTER',
      message: 'alice made this request and cannot decide on it; another approver must',
    },
    {
      who: 'an approver not listed for any rule',
      user: 'carol' as const,
      code: 'APPROVER_NOT_LISTED',
      message: 'carol is not an approver for this request (approvers: alice, group:security)',
    },
  ])('403 for $who; nothing changes', async ({ user, code, message }) => {
    const request = await service.add({
      requirements: [{ rule: 'r', approvers: ['alice', 'group:security'], quorum: 1 }],
    });
    const before = await service.snapshot();
    const res = await decideAs(user, request.id, { decision: 'approve' });
    expect(res.status).toBe(403);
    expect(res.json.error).toEqual({ code, message });
    expect(await service.snapshot()).toBe(before);
  });

  it('400 for invalid input, naming the problem; nothing changes', async () => {
    const request = await service.add();
    const before = await service.snapshot();

    const noReason = await decideAs('bob', request.id, { decision: 'reject' });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error).toEqual({
      code: 'APPROVAL_DECISION_INVALID',
      message: 'a rejection needs a reason',
    });

    const badDecision = await decideAs('bob', request.id, { decision: 'maybe' });
    expect(badDecision.status).toBe(400);
    expect(badDecision.json.error.message).toMatch(/^decision: /);

    const extra = await decideAs('bob', request.id, { decision: 'approve', approver: 'bob' });
    expect(extra.status).toBe(400);
    expect(extra.json.error.message).toContain('approver');

    const notJson = await decideAs('bob', request.id, '{"decision": ');
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.message).toBe('the body is not valid JSON');
    expect(await service.snapshot()).toBe(before);
  });

  it('415 for a body that is not JSON and 413 for one too large', async () => {
    const request = await service.add();
    const form = await decideAs('bob', request.id, 'decision=approve', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
    expect(form.json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const huge = await decideAs('bob', request.id, { decision: 'reject', reason: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('BODY_TOO_LARGE');
    expect((await service.get(request.id))!.state).toBe('pending');
  });

  it('404 for a decision on an unknown request', async () => {
    const res = await decideAs('bob', 'missing', { decision: 'approve' });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('APPROVAL_NOT_FOUND');
  });
});

describe('failures inside Gatehouse', () => {
  it('500 with an incident id and no stack trace when the service throws something unexpected', async () => {
    const broken: ApprovalService = {
      ...service,
      listPage: async () => {
        throw new Error('disk on fire at /var/secret/path');
      },
    };
    const accounts = await testAccounts();
    const other = await startApprovalWeb({
      service: broken,
      config: testConfig({ approvers: { accounts } }),
    });
    try {
      const issued = await request(`${other.url}/api/tokens`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`bob:${PASSWORDS.bob}`).toString('base64')}` },
      });
      const { token } = (await issued.body.json()) as { token: string };
      const res = await request(`${other.url}/api/approvals`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const text = await res.body.text();
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(text).error).toMatchObject({
        code: 'INTERNAL',
        message: expect.stringMatching(/^internal error \(incident [0-9a-f-]{36}\)/),
      });
      expect(text).not.toContain('disk on fire');
      expect(text).not.toMatch(/at .*\.ts:\d+/);
    } finally {
      await other.close();
    }
  });
});
