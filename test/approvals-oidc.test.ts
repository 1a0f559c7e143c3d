import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Provider from 'oidc-provider';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import {
  createFakeApprovalService,
  startApprovalWeb,
  testConfig,
  type ApprovalWebHarness,
  type FakeApprovalService,
} from './helpers/approvals.js';
import { useChromium } from './helpers/browser.js';

/**
 * Approver sign-in with OpenID Connect against a real provider (oidc-provider) on 127.0.0.1, driven in
 * headless Chromium through the provider's own login and consent pages: code flow with PKCE, state and
 * nonce; groups arrive through UserInfo (the provider keeps scope claims out of the ID token).
 */

const CLIENT = { id: 'gatehouse-approvals', secret: 'a-client-secret-for-tests-only-0123456789' };
const GROUPS: Record<string, string[]> = { dana: ['security'], erin: ['marketing'] };

const logLines: string[] = [];
let service: FakeApprovalService;
let web: ApprovalWebHarness;
let idp: Server;
let issuer: string;
const { newPage } = useChromium();

beforeAll(async () => {
  // The provider needs Gatehouse's callback URL and Gatehouse needs the issuer: listen first, mount later.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  idp = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;

  service = createFakeApprovalService();
  const config = testConfig({
    approvers: {
      oidc: { issuer, clientId: CLIENT.id, clientSecret: CLIENT.secret, scopes: ['openid', 'groups'] },
    },
  });
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  web = await startApprovalWeb({ service, config, logger });

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: [`${web.url}/auth/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    claims: { openid: ['sub'], groups: ['groups'] },
    scopes: ['openid', 'groups'],
    pkce: { required: () => true },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, groups: GROUPS[sub] ?? [] }),
    }),
  });
  const callback = provider.callback();
  handler = (req, res) => void callback(req, res);
});

afterAll(async () => {
  await web?.close();
  await new Promise<void>((resolve) => {
    if (!idp) return resolve();
    idp.close(() => resolve());
    idp.closeAllConnections();
  });
});

/** From Gatehouse's sign-in page through the provider's login and consent pages, back to Gatehouse. */
async function signInWithProvider(page: Page, user: string, path = '/approvals'): Promise<void> {
  await page.goto(`${web.url}${path}`);
  expect(new URL(page.url()).pathname).toBe('/approvals/sign-in');
  expect(await page.locator('[data-testid=local-sign-in]').count()).toBe(0);
  await page.click('[data-testid=oidc-sign-in]');
  expect(page.url().startsWith(`${issuer}/interaction/`)).toBe(true);
  await page.fill('input[name=login]', user);
  await page.fill('input[name=password]', 'anything: the provider accepts any password in dev mode');
  await page.click('button[type=submit]');
  if (page.url().startsWith(issuer)) await page.click('button[type=submit]'); // consent
}

describe('OIDC sign-in against a real provider', () => {
  it('signs in with code + PKCE, takes the subject and the groups, and can approve', async () => {
    const page = await newPage();
    const authorizations: URL[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${issuer}/auth?`)) authorizations.push(new URL(r.url()));
    });
    const request = await service.add();
    await signInWithProvider(page, 'dana', `/approvals/${request.id}`);

    expect(new URL(page.url()).pathname).toBe(`/approvals/${request.id}`);
    expect(await page.textContent('[data-testid=viewer]')).toBe('dana');
    expect(await page.textContent('header')).toContain('security');

    const params = authorizations[0]!.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toBeTruthy();
    expect(params.get('nonce')).toBeTruthy();
    expect(params.get('redirect_uri')).toBe(`${web.url}/auth/callback`);
    expect(params.get('scope')).toBe('openid groups');

    await page.click('button:has-text("Approve this exact call")');
    expect(await page.textContent('[data-testid=state]')).toBe('approved');
    expect((await service.get(request.id))!.decisions[0]!.approver).toEqual({
      id: 'dana',
      groups: ['security'],
    });
  });

  it('refuses a replayed callback and a callback in a browser that did not start the sign-in', async () => {
    const page = await newPage();
    let callbackUrl = '';
    page.on('request', (r) => {
      if (r.url().startsWith(`${web.url}/auth/callback`)) callbackUrl = r.url();
    });
    await signInWithProvider(page, 'erin');
    expect(await page.textContent('[data-testid=viewer]')).toBe('erin');

    const replay = await page.goto(callbackUrl);
    expect(replay!.status()).toBe(401);
    expect(await page.textContent('[data-testid=error]')).toContain('this sign-in was not started here');

    const stranger = await newPage();
    const response = await stranger.goto(callbackUrl);
    expect(response!.status()).toBe(401);
    expect((await stranger.context().cookies()).some((c) => c.name === 'gatehouse_session')).toBe(false);
  });

  it('refuses a callback whose state does not match the one sent', async () => {
    const page = await newPage();
    // The browser reaches the callback through the provider's redirects, which routes do not see: take
    // over the provider's form posts, follow its redirect to the callback here and forge the state in it.
    await page.route(`${issuer}/interaction/**`, async (route) => {
      if (!route.request().postData()?.includes('prompt=consent')) return route.continue();
      const consented = await route.fetch({ maxRedirects: 0 });
      const resume = new URL(consented.headers()['location']!, issuer);
      const resumed = await page.context().request.get(resume.href, { maxRedirects: 0 });
      const forged = new URL(resumed.headers()['location']!);
      expect(forged.href.startsWith(`${web.url}/auth/callback?`)).toBe(true);
      forged.searchParams.set('state', 'forged-state');
      return route.fulfill({ status: 303, headers: { location: forged.href } });
    });
    await signInWithProvider(page, 'dana');
    expect(new URL(page.url()).searchParams.get('state')).toBe('forged-state');
    expect(await page.textContent('[data-testid=error]')).toContain('could not be completed');
    expect(logLines.join('')).toMatch(/OIDC sign-in failed.*state|state.*OIDC sign-in failed/);
    expect((await page.context().cookies()).some((c) => c.name === 'gatehouse_session')).toBe(false);
  });

  it('shows the provider refusing (the user cancels consent) as a sign-in error', async () => {
    const page = await newPage();
    await page.goto(`${web.url}/auth/login`);
    await page.fill('input[name=login]', 'dana');
    await page.fill('input[name=password]', 'x');
    await page.click('button[type=submit]');
    // The dev consent page offers no "deny"; abort the interaction as a provider would on cancel.
    const interaction = new URL(page.url()).pathname.split('/')[2];
    await page.goto(`${issuer}/interaction/${interaction}/abort`);
    expect(new URL(page.url()).pathname).toBe('/auth/callback');
    expect(await page.textContent('[data-testid=error]')).toContain(
      'the sign-in provider refused: access_denied',
    );
  });
});
