import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORDS, useLocalApprovalWeb } from './helpers/approvals.js';
import { signInLocally, useChromium } from './helpers/browser.js';
import { scratchDir } from './helpers/config.js';
import { TOOL_ERROR, executedWith } from './helpers/outcomes.js';
import { REPO } from './helpers/paths.js';

/**
 * The approval page on a phone: approvers open these links from Teams on theirs. At 390 px (an iPhone
 * 14's CSS width) in headless Chromium, on every page an approver sees, with the longest things a
 * request carries (paths, ids, digests, JSON, a tool's error): the page never scrolls sideways, no
 * element sticks out of the screen (long JSON and digests wrap inside their own box), no word that
 * would fit on its line (nor any word of up to 20 characters) is broken across two, and every button and link to a request is a target a thumb
 * can hit (44 × 44 px, Apple's and WCAG's AAA size).
 *
 * The inbox's screenshot is README material: GATEHOUSE_UPDATE_DOCS=1 writes it to
 * docs/approvals-mobile.png; otherwise it goes to a scratch folder.
 */

const WIDTH = 390;
const TAP = 44;
/** No word this short may break, however narrow its column: a squeezed table column is the failure. */
const WORD = 20;

const scratch = scratchDir('approvals-mobile');
const clock = Date.parse('2026-03-02T09:30:00Z');
const local = useLocalApprovalWeb({ now: () => clock });
const ids: Record<string, string> = {};
const { newPage } = useChromium();

beforeAll(async () => {
  const { service } = local;
  const minutesAgo = (m: number) => new Date(clock - m * 60_000);
  ids.report = (
    await service.add(
      {
        arguments: {
          path: '/home/alice/projects/gatehouse-demo/files/reports/2026/quarterly-report-final-v2.txt',
          content: `Quarterly numbers\n${'revenue,costs,margin;'.repeat(12)}`,
          apiKey: 'sk-live-0123456789abcdef0123456789abcdef',
        },
      },
      minutesAgo(3),
    )
  ).id;
  ids.second = (
    await service.add(
      {
        arguments: {
          path: '/home/alice/projects/gatehouse-demo/files/reports/2026/summary.txt',
          content: 'ok',
        },
      },
      minutesAgo(2),
    )
  ).id;
  ids.long = (
    await service.add(
      {
        server: 'deployment-orchestrator',
        tool: 'promote_release_candidate_to_production_everywhere',
        exposedName: 'deployment-orchestrator__promote_release_candidate_to_production_everywhere',
        caller: {
          id: 'someone.with.a.long.address@example-corporation.com',
          groups: ['dev', 'release-managers'],
        },
        reason: 'production deploys need a reviewer from the release managers and one from security',
        requirements: [
          {
            rule: 'production-deploys-need-two',
            approvers: ['group:security', 'group:release-managers'],
            quorum: 2,
          },
        ],
        arguments: {
          build: '2026.03.02-rc.7+sha.9f8e7d6c5b4a39281706f5e4d3c2b1a0',
          regions: ['eu-west-1', 'us-east-1'],
        },
      },
      minutesAgo(1),
    )
  ).id;
  ids.deceptive = (
    await service.add(
      { arguments: { url: 'https://p\u0430ypal.example/login', path: '/home/alice/\u202Etxt.exe' } },
      minutesAgo(1),
    )
  ).id;
  ids.toolError = (
    await executedWith(service, TOOL_ERROR, {
      arguments: { path: '/srv/reports/quarterly/2026/q1/consolidated-numbers-final.xlsx', content: 'x' },
    })
  ).id;
  ids.executed = (await executedWith(service, { content: [{ type: 'text', text: 'written' }] })).id;
  const rejected = await service.add({}, minutesAgo(30));
  await service.decide(rejected.id, {
    approver: { id: 'bob', groups: ['security'] },
    decision: 'reject',
    reason: 'the report goes to the shared drive, not to /tmp; ask finance for the template first',
  });
});
afterAll(() => scratch.remove());

async function onPhone(path = '/approvals'): Promise<Page> {
  const page = await newPage();
  await page.setViewportSize({ width: WIDTH, height: 844 });
  await signInLocally(page, local.web.url, { user: 'bob', password: PASSWORDS.bob }, path);
  return page;
}

/**
 * Runs in the page: every way the layout fails a phone, as sentences (none: it passes). Text inside
 * pre, code and .mono boxes is data (JSON, paths, digests) and may wrap anywhere inside its own box;
 * every other word must stay whole, unless it is longer than 20 characters and wider than the line it
 * is on (an id or a path longer than a phone's line). A string, since the
 * project compiles without the DOM library.
 */
const LAYOUT_PROBLEMS = `(() => {
  const problems = [];
  const width = window.innerWidth;
  const name = (el) => el.tagName.toLowerCase() +
    (el.dataset.testid ? '[data-testid=' + el.dataset.testid + ']' : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const scrolled = document.scrollingElement.scrollWidth;
  if (scrolled > width) problems.push('the page is ' + scrolled + ' px wide: it scrolls sideways');
  const insideOwnBox = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) if (getComputedStyle(a).overflowX !== 'visible') return true;
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > width + 0.5 || r.left < -0.5) && !insideOwnBox(el))
      problems.push(name(el) + ' sticks out of the screen (' + Math.round(r.left) + ' to ' + Math.round(r.right) + ' px)');
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('pre, code, .mono')) continue;
    let block = parent;
    while (block.parentElement && getComputedStyle(block).display.startsWith('inline')) block = block.parentElement;
    const style = getComputedStyle(block);
    const room = block.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    // A word may break after a hyphen, as in any text; nowhere else.
    for (const word of node.data.matchAll(/[^\\s-]+-*/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0);
      if (new Set(rects.map((r) => Math.round(r.top))).size < 2) continue;
      const wide = rects.reduce((sum, r) => sum + r.width, 0);
      if (wide <= room || word[0].length <= ${WORD})
        problems.push('"' + word[0] + '" is broken across lines in ' + name(parent) + ' (' + Math.round(room) + ' px wide)');
    }
  }
  for (const el of document.querySelectorAll('button, a.req, header.top a')) {
    const r = el.getBoundingClientRect();
    if (r.width < ${TAP} || r.height < ${TAP})
      problems.push(name(el) + ' "' + el.textContent.trim() + '" is ' + Math.round(r.width) + ' x ' + Math.round(r.height) + ' px, under ${TAP} x ${TAP}');
  }
  return problems;
})()`;

const layoutProblems = (page: Page) => page.evaluate(LAYOUT_PROBLEMS) as Promise<string[]>;

describe('at 390 px wide', () => {
  it('the inbox fits: rows become cards, nothing scrolls sideways or breaks mid-word; its screenshot', async () => {
    const page = await onPhone();
    expect(await page.locator('[data-testid=pending] tbody tr').count()).toBe(4);
    expect(await layoutProblems(page)).toEqual([]);
    // A row is a card: its cells are stacked, each labelled by its column.
    const cell = page.locator(`[data-testid=pending] tr:has(a[href="/approvals/${ids.long}"]) td`).nth(1);
    expect(await cell.getAttribute('data-label')).toBe('Requested by');
    const target =
      process.env.GATEHOUSE_UPDATE_DOCS === '1'
        ? path.join(REPO, 'docs/approvals-mobile.png')
        : path.join(scratch.dir, 'approvals-mobile.png');
    mkdirSync(path.dirname(target), { recursive: true });
    const shot = await page.screenshot({ path: target, fullPage: true });
    expect(shot.length).toBeGreaterThan(10_000);
  });

  it.each([
    ['a pending request with long arguments, its decision forms', 'report'],
    ['a request with long names, a long requester and two approvals needed', 'long'],
    ['a request with deceptive characters', 'deceptive'],
    ['a call whose tool reported an error', 'toolError'],
  ])('%s fits', async (_what, key) => {
    const page = await onPhone(`/approvals/${ids[key]}`);
    expect(await layoutProblems(page)).toEqual([]);
  });

  it('every request, a page at a time, fits', async () => {
    const page = await onPhone('/approvals/history');
    expect(await page.locator('[data-testid=history] tbody tr').count()).toBeGreaterThan(3);
    expect(await layoutProblems(page)).toEqual([]);
  });

  it('the API tokens page and the sign-in form fit', async () => {
    const page = await onPhone('/approvals/tokens');
    await page.fill('#label', 'phone');
    await page.click('button:has-text("Create a token")');
    expect(await page.locator('[data-testid=token]').count()).toBe(1);
    expect(await layoutProblems(page)).toEqual([]);
    const signedOut = await newPage();
    await signedOut.setViewportSize({ width: WIDTH, height: 844 });
    await signedOut.goto(`${local.web.url}/approvals/sign-in`);
    expect(await layoutProblems(signedOut)).toEqual([]);
  });

  it('the probe finds what breaks a phone: a page that is too wide, a word cut, a small button', async () => {
    // A blank page: the approval page's CSP would refuse these inline styles.
    const page = await newPage();
    await page.setViewportSize({ width: WIDTH, height: 844 });
    await page.setContent(`<body style="margin:0">
      <div style="width:500px">wide</div>
      <p style="width:100px;word-break:break-all">aaaa approvals</p>
      <button style="padding:0;min-height:0;min-width:0">x</button></body>`);
    const problems = await layoutProblems(page);
    expect(problems.some((p) => p.includes('scrolls sideways'))).toBe(true);
    expect(problems.some((p) => p.includes('"approvals" is broken across lines'))).toBe(true);
    expect(problems.some((p) => p.includes('under 44 x 44'))).toBe(true);
  });
});
