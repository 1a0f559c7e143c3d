import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';

/**
 * Debian's Chromium (installed by .ci/run), driven by playwright-core, which downloads no browser.
 * Every context refuses requests to anything but this machine: a page under test (or an identity
 * provider's page, which may import web fonts) never reaches the network.
 */
export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export async function loopbackContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    return hostname === '127.0.0.1' || hostname === 'localhost'
      ? route.continue()
      : route.abort('blockedbyclient');
  });
  return context;
}

/**
 * Chromium for one test file: launched in beforeAll, closed with every context it opened in afterAll.
 * `newPage()` opens a page in a context of its own, so each page signs in on its own.
 */
export function useChromium() {
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await browser?.close();
  });
  return {
    async newPage(): Promise<Page> {
      const context = await loopbackContext(browser!);
      contexts.push(context);
      return context.newPage();
    },
  };
}

/**
 * Opens `${baseUrl}${path}`, which sends a signed-out approver to the local sign-in form, signs in as
 * `user` and checks the page returned to `path` with `user` signed in.
 */
export async function signInLocally(
  page: Page,
  baseUrl: string,
  account: { user: string; password: string },
  path = '/approvals',
): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  expect(new URL(page.url()).pathname).toBe('/approvals/sign-in');
  await page.fill('#user', account.user);
  await page.fill('#password', account.password);
  await page.click('button:has-text("Sign in")');
  expect(new URL(page.url()).pathname).toBe(path);
  await expect.poll(() => page.textContent('[data-testid=viewer]')).toBe(account.user);
}
