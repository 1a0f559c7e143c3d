import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { PASSWORDS, useLocalApprovalWeb } from './helpers/approvals.js';
import { signInLocally, useChromium } from './helpers/browser.js';
import { TOOL_ERROR, executedWith } from './helpers/outcomes.js';

/**
 * What the inbox and a request's page tell an approver at a glance, in headless Chromium: the inbox
 * reloads itself, tells two requests for one tool apart by their (redacted) arguments, and a call
 * that ran but whose tool reported an error reads as such, with the error, not as a plain `executed`.
 */

const local = useLocalApprovalWeb();
const { newPage } = useChromium();

async function asBob(path = '/approvals'): Promise<Page> {
  const page = await newPage();
  await signInLocally(page, local.web.url, { user: 'bob', password: PASSWORDS.bob }, path);
  return page;
}

/** The row of the table `testId` that links to request `id`. */
const row = (page: Page, testId: string, id: string) =>
  page.locator(`[data-testid=${testId}] tr`, { has: page.locator(`a[href="/approvals/${id}"]`) });

describe('the inbox', () => {
  it('refreshes itself without script; the pages with forms do not', async () => {
    const request = await local.service.add();
    const page = await asBob();
    expect(await page.locator('meta[http-equiv=refresh]').getAttribute('content')).toBe('15');
    expect(await page.textContent('main')).toContain('refreshes itself every 15 seconds');
    await page.goto(`${local.web.url}/approvals/${request.id}`);
    expect(await page.locator('meta[http-equiv=refresh]').count()).toBe(0);
    await page.goto(`${local.web.url}/approvals/tokens`);
    expect(await page.locator('meta[http-equiv=refresh]').count()).toBe(0);
  });

  it('tells two requests for one tool apart by a line of their arguments, redacted as lists are', async () => {
    const CANARY = 'c4nary-argline-77e1';
    const first = await local.service.add({
      arguments: { path: '/srv/reports/q1.txt', content: 'first', apiKey: CANARY },
    });
    const second = await local.service.add({
      arguments: { path: '/srv/reports/q2.txt', content: `password=${CANARY}` },
    });
    const page = await asBob();
    const line = (id: string) =>
      row(page, 'pending', id).locator('[data-testid=arguments-line]').textContent();
    expect(await line(first.id)).toBe('path: "/srv/reports/q1.txt", content: "first", apiKey: "[REDACTED]"');
    expect(await line(second.id)).toBe(
      'path: "/srv/reports/q2.txt", content: "password=[REDACTED:named-secret]"',
    );
    expect(await page.content()).not.toContain(CANARY);
    // The request's own page shows them exactly.
    await page.goto(`${local.web.url}/approvals/${first.id}`);
    expect(await page.textContent('[data-testid=arguments]')).toContain(CANARY);
  });

  it('flags deceptive characters in the line and cuts long values', async () => {
    const request = await local.service.add({
      arguments: { path: '/home/alice/\u202Etxt.exe', content: 'y'.repeat(500) },
    });
    const page = await asBob();
    const line = row(page, 'pending', request.id).locator('[data-testid=arguments-line]');
    expect(await line.locator('mark[data-flag=bidi]').count()).toBe(1);
    const text = (await line.textContent())!;
    expect(text).toContain('yy[...]yy');
    expect(text).not.toContain('y'.repeat(60));
  });
});

describe('a call that ran but whose tool reported an error', () => {
  it('reads "executed, tool error" with the error in the inbox, and the error in full on its page', async () => {
    const request = await executedWith(local.service, TOOL_ERROR, {
      arguments: { path: '/srv/reports/quarterly.xlsx', content: 'x' },
    });
    const plain = await executedWith(local.service, { content: [{ type: 'text', text: 'written' }] });
    const page = await asBob();
    const failed = row(page, 'recent', request.id);
    expect(await failed.locator('[data-testid=state]').textContent()).toBe('executed, tool error');
    expect(await failed.locator('[data-testid=state]').getAttribute('class')).toContain('tool-error');
    expect(await failed.locator('[data-testid=outcome-detail]').textContent()).toContain(
      'Access denied - path outside allowed directories',
    );
    expect(await row(page, 'recent', plain.id).locator('[data-testid=state]').textContent()).toBe('executed');

    await page.click(`[data-testid=recent] a[href="/approvals/${request.id}"]`);
    expect(await page.textContent('[data-testid=state]')).toBe('executed, tool error');
    expect(await page.textContent('[data-testid=status]')).toContain(
      'This request was executed, the tool reported an error:',
    );
    expect(await page.textContent('[data-testid=tool-error]')).toBe(
      (TOOL_ERROR.content[0] as { text: string }).text,
    );
  });
});
