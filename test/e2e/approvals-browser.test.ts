import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { signInLocally, useChromium } from '../helpers/browser.js';
import { scratchDir } from '../helpers/config.js';
import {
  ALICE,
  BOB,
  expectNotRun,
  expectPending,
  gatedGatehouse,
  passwordOf,
  reaches,
} from '../helpers/gated.js';

/**
 * The approval page of a real Gatehouse, in headless Chromium: alice's write_file on server-filesystem
 * waits for a human, bob decides on Gatehouse's own listener, and the disk shows what ran.
 */

const gated = gatedGatehouse(scratchDir('approvals-browser'), 'browser');
const { setUp, writeFile } = gated;
const { newPage } = useChromium();

async function signIn(who: { id: string }, at = '/approvals'): Promise<Page> {
  const page = await newPage();
  await signInLocally(page, gated.url, { user: who.id, password: passwordOf(who) }, at);
  return page;
}

/** The request page, reloaded until the request is in `state`. */
async function pageShows(page: Page, state: string) {
  await expect
    .poll(async () => {
      await page.reload();
      return page.textContent('[data-testid=state]');
    })
    .toBe(state);
}

describe('deciding in the browser on a real Gatehouse', () => {
  it('bob finds the request in the inbox, sees the exact arguments and digest, approves: the file is written once and the retry returns the result', async () => {
    const target = path.join(setUp.files, 'from-the-page.txt');
    const args = { path: target, content: 'approved in the browser\nsecond line' };
    const { approvalId } = expectPending(
      await writeFile('from-the-page.txt', args.content),
      'fs-write',
      true,
    );
    expect(existsSync(target)).toBe(false);
    const stored = (await gated.approvals.get(approvalId))!;

    const page = await signIn(BOB);
    const link = `a[href="/approvals/${approvalId}"]`;
    const row = page.locator('[data-testid=pending] tr', { has: page.locator(link) });
    expect(await row.textContent()).toContain('your decision is needed');
    await page.click(link);

    expect(await page.textContent('h1')).toBe('fs / write_file');
    expect(await page.textContent('[data-testid=state]')).toBe('pending');
    expect(await page.textContent('[data-testid=caller]')).toContain('alice');
    expect((await page.textContent('[data-testid=rules]'))!.trim()).toBe('fs-write');
    expect(await page.textContent('[data-testid=reason]')).toBe('writing files needs a second pair of eyes');
    expect(await page.textContent('[data-testid=arguments]')).toBe(JSON.stringify(args, null, 2));
    expect(await page.textContent('[data-testid=digest]')).toBe(stored.digest);
    expect(await page.locator('[data-testid=unicode-warning]').count()).toBe(0);
    expect(existsSync(target)).toBe(false);

    await page.click('button:has-text("Approve this exact call")');
    expect(new URL(page.url()).pathname).toBe(`/approvals/${approvalId}`);
    const executed = await reaches(gated.approvals, approvalId, 'executed');
    expect(readFileSync(target, 'utf8')).toBe(args.content);
    expect(executed.decisions).toMatchObject([{ approver: BOB, decision: 'approve', channel: 'web' }]);
    await pageShows(page, 'executed');
    expect(await page.textContent('[data-testid=history]')).toMatch(/bob\s*approved/);
    const written = statSync(target, { bigint: true }).mtimeNs;

    const retry = await writeFile('from-the-page.txt', args.content);
    expect(retry).toMatchObject({
      content: [{ type: 'text', text: `Successfully wrote to ${target}` }],
      _meta: { 'gatehouse/approval': { status: 'executed', approvalId } },
    });
    expect(retry.isError).toBeUndefined();
    // The retry was answered from the record: the file was not written again.
    expect(statSync(target, { bigint: true }).mtimeNs).toBe(written);
    expect((await gated.approvals.get(approvalId))!.execution?.startedAt).toBe(executed.execution?.startedAt);
  });

  it('bob rejects with a reason: never written, the retry is an error with that reason', async () => {
    const target = path.join(setUp.files, 'rejected-on-the-page.txt');
    const content = 'this should never reach the disk';
    const { approvalId } = expectPending(
      await writeFile('rejected-on-the-page.txt', content),
      'fs-write',
      true,
    );

    const page = await signIn(BOB, `/approvals/${approvalId}`);
    const reason = 'not in the shared folder, please';
    await page.fill('#reject-reason', reason);
    await page.click('button:has-text("Reject")');
    expect(await page.textContent('[data-testid=state]')).toBe('rejected');
    expect(await page.textContent('[data-testid=status]')).toContain(`rejected by bob: ${reason}`);

    const retry = await writeFile('rejected-on-the-page.txt', content);
    expectNotRun(retry, 'REJECTED by bob', reason);
    expect((await gated.approvals.get(approvalId))!.state).toBe('rejected');
    expect(existsSync(target)).toBe(false);
  });

  it('alice, signed in, is told she cannot approve her own request, and a forced POST is refused; nothing runs', async () => {
    const target = path.join(setUp.files, 'self-approved.txt');
    const { approvalId } = expectPending(
      await writeFile('self-approved.txt', 'by alice, for alice'),
      'fs-write',
      true,
    );

    const page = await signIn(ALICE);
    const row = page.locator('[data-testid=pending] tr', {
      has: page.locator(`a[href="/approvals/${approvalId}"]`),
    });
    expect(await row.textContent()).toContain('you requested it');
    await page.click(`a[href="/approvals/${approvalId}"]`);
    expect(await page.textContent('[data-testid=blocker]')).toContain(
      'alice made this request and cannot decide on it; another approver must',
    );
    expect(await page.locator('[data-testid=approve-form]').count()).toBe(0);

    const csrf = await page.getAttribute('header input[name=csrf]', 'value');
    const forced = await page.request.post(`${gated.url}/approvals/${approvalId}/decision`, {
      form: { csrf: csrf!, decision: 'approve' },
    });
    expect(forced.status()).toBe(403);
    expect(await forced.text()).toContain('alice made this request and cannot decide on it');

    expect(await gated.approvals.get(approvalId)).toMatchObject({ state: 'pending', decisions: [] });
    expectPending(await writeFile('self-approved.txt', 'by alice, for alice'), 'fs-write', true);
    expect(existsSync(target)).toBe(false);
  });
});
