import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_REASON, T0, sampleEvents, writeTrail } from '../src/audit/eventkit.js';
import { parsePeriod } from '../src/audit/period.js';
import { writeEvidenceReport } from '../src/audit/report/index.js';
import { tempDir, testKey } from '../src/audit/testkit.js';
import { verifyAuditLog } from '../src/audit/verify.js';
import { useChromium } from './helpers/browser.js';

/**
 * The evidence report in a real headless Chromium: it renders with its own stylesheet under its CSP,
 * runs nothing, and every number on the page is the one the trail gives, counted here from the events
 * themselves. With GATEHOUSE_REPORT_SCREENSHOT set, the page is saved there (docs/audit-report.png).
 */

declare const getComputedStyle: (element: unknown) => { backgroundColor: string };

const chromium = useChromium();
const events = sampleEvents();
let root: { path: string; remove: () => Promise<void> };
let html: string;
let rootHash: string;

beforeAll(async () => {
  root = await tempDir('gatehouse-audit-report-');
  const dir = path.join(root.path, 'log');
  const key = await writeTrail(dir, events, testKey());
  const report = await verifyAuditLog(dir, { keys: [key.verifierKey] });
  rootHash = report.latestCheckpoint!.rootHash;
  const out = path.join(root.path, 'report.html');
  await writeEvidenceReport({
    dir,
    out,
    period: parsePeriod({ since: '2026-03-02', until: '2026-03-02' }),
    verification: { ...report, keys: `1 key from --key: ${key.signer.name}`, witnesses: [] },
    now: new Date(T0 + 86_400_000),
  });
  html = await readFile(out, 'utf8');
});
afterAll(() => root?.remove());

/** The numbers, counted from the events without the report's code. */
function expected() {
  const decided = events.flatMap((t) => (t.event.event === 'call.decided' ? [t.event] : []));
  const count = (effect: string) => decided.filter((e) => e.mode === 'enforce' && e.effect === effect).length;
  const requested = new Map(
    events.flatMap((t) =>
      t.event.event === 'approval.requested' ? [[t.event.approvalId, t.time] as const] : [],
    ),
  );
  const settling = events.flatMap((t) =>
    t.event.event === 'approval.decided' && t.event.state !== 'pending' ? [t.event] : [],
  );
  const minutes = settling
    .map((d) => (Date.parse(d.at) - Date.parse(requested.get(d.approvalId)!)) / 60_000)
    .sort((a, b) => a - b);
  return {
    records: events.length,
    allow: count('allow'),
    deny: count('deny'),
    approve: count('approve'),
    shadow: decided.filter((e) => e.mode === 'shadow').length,
    privileged: settling.filter((d) => d.state === 'approved').map((d) => d.approvalId),
    selfApprovals: events.filter(
      (t) => t.event.event === 'approval.refused' && t.event.code === 'APPROVER_IS_REQUESTER',
    ).length,
    minutes,
  };
}

describe('the evidence report in Chromium', () => {
  it('renders with its stylesheet, runs no script, and shows hostile text as text', async () => {
    const page = await chromium.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.setContent(html);
    expect(await page.title()).toContain('Gatehouse audit evidence');
    // The stylesheet applies (its hash is in the CSP): sections are white cards on a grey page.
    expect(
      await page
        .locator('section')
        .first()
        .evaluate((el) => getComputedStyle(el).backgroundColor),
    ).toBe('rgb(255, 255, 255)');
    expect(await page.evaluate('document.scripts.length')).toBe(0);
    expect(await page.evaluate('document.images.length')).toBe(0);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await page.locator('[data-testid=not-run]').textContent()).toContain(HOSTILE_REASON);
    await expect.poll(() => page.locator('svg.histogram').isVisible()).toBe(true);
    if (process.env.GATEHOUSE_REPORT_SCREENSHOT) {
      await page.screenshot({ path: process.env.GATEHOUSE_REPORT_SCREENSHOT, fullPage: true });
    }
  });

  it('shows the numbers the trail gives', async () => {
    const want = expected();
    const page = await chromium.newPage();
    await page.setContent(html);
    const text = (id: string) => page.locator(`[data-testid=${id}]`).textContent();
    expect(await text('records')).toBe(String(want.records));
    for (const kind of ['allow', 'deny', 'approve', 'shadow'] as const) {
      expect(await text(`decisions-${kind}`), kind).toBe(String(want[kind]));
    }
    expect(await text('privileged-count')).toBe(String(want.privileged.length));
    const rows = page.locator('[data-testid=privileged] tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-approval')))).toEqual(
      want.privileged,
    );
    expect(await text('self-approvals')).toBe(String(want.selfApprovals));
    expect(await page.locator('[data-testid=refusals] tr[data-code=APPROVER_IS_REQUESTER]').count()).toBe(
      want.selfApprovals,
    );

    const middle = want.minutes.length / 2;
    const median = (want.minutes[Math.floor(middle) - 1]! + want.minutes[Math.floor(middle)]!) / 2;
    const p90 = want.minutes[Math.ceil(0.9 * want.minutes.length) - 1]!;
    expect(await text('ttd-count')).toBe(String(want.minutes.length));
    expect(await page.locator('[data-testid=ttd-median]').getAttribute('data-ms')).toBe(
      String(median * 60_000),
    );
    expect(await page.locator('[data-testid=ttd-p90]').getAttribute('data-ms')).toBe(String(p90 * 60_000));
    const bars = await page
      .locator('svg.histogram g.bucket')
      .evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-count'))));
    expect(bars.reduce((a, b) => a + b, 0)).toBe(want.minutes.length);

    expect(await page.locator('[data-testid=verification]').getAttribute('data-ok')).toBe('true');
    expect(await text('checkpoint')).toContain(rootHash);
    expect(await text('checkpoint')).toContain(`${want.records} records`);
  });
});
