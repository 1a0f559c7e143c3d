import { chromium, type Browser, type BrowserContext } from 'playwright-core';

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
