import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { expectDenied } from '../helpers/decisions.js';
import {
  APPROVAL_POLICIES,
  BOB,
  CAROL,
  approve,
  expectNotRun,
  expectPending,
  gatedGatehouse,
  passwordOf,
  reaches,
} from '../helpers/gated.js';
import { signInLocally, useChromium } from '../helpers/browser.js';
import { eventually } from '../helpers/processes.js';

/**
 * Right before an approved call runs, Gatehouse checks again that the current policy set does not deny
 * it and that the tool is the one the approvers saw. Either failing blocks the call: `failed`, never
 * started, and the model is told why.
 */

const scratch = scratchDir('approvals-recheck');
const policies = path.join(scratch.dir, 'policies');
scratch.write('policies/.keep', '');
copyFileSync(path.join(APPROVAL_POLICIES, 'approvals.yaml'), path.join(policies, 'approvals.yaml'));
const gated = gatedGatehouse(scratch, 'recheck', { policies });
const { setUp, call } = gated;
const status = (approvalId: string) => call('gatehouse__approval_status', { approvalId });
const { newPage } = useChromium();

/** The description of shape__target as Gatehouse lists it to alice. */
const listedDescription = async () =>
  (await gated.alice.client.listTools()).tools.find((t) => t.name === 'shape__target')?.description;

/** Writes a policy file and waits until Gatehouse decides with the set that includes it. */
async function changePolicy(file: string, content: string | undefined) {
  const before = gated.embedded.gatehouse.status().policy.version;
  if (content === undefined) rmSync(path.join(policies, file));
  else scratch.write(`policies/${file}`, content);
  await eventually(
    () => gated.embedded.gatehouse.status().policy.version !== before,
    `the policy set without/with ${file} is in force`,
  );
}

describe('the re-check before an approved call runs', () => {
  it('a policy that now denies the call blocks it: failed with POLICY_NOW_DENIES, never sent downstream', async () => {
    const { approvalId } = expectPending(await call('rec__deploy', { build: 'frozen' }), 'deploy');
    await changePolicy(
      'freeze.yaml',
      `rules:
  - id: deploy-freeze
    match: { servers: rec, tools: deploy }
    effect: deny
    reason: deploys are frozen for the release
`,
    );
    try {
      await approve(gated.approvals, approvalId, BOB);
      const failed = await reaches(gated.approvals, approvalId, 'failed');
      expect(failed.execution?.error).toMatchObject({ code: 'POLICY_NOW_DENIES' });
      expect(failed.execution?.error?.message).toContain('deploys are frozen for the release');
      expect(failed.execution?.startedAt).toBeUndefined();
      expectNotRun(await status(approvalId), 'was NOT executed', 'deploys are frozen for the release');
      // The identical call is decided afresh, by the set now in force.
      expectDenied(await call('rec__deploy', { build: 'frozen' }), 'deploy-freeze');
      expect(setUp.recorder.received().filter((c) => c.name === 'deploy')).toEqual([]);
    } finally {
      await changePolicy('freeze.yaml', undefined);
    }
  });

  it('a tool whose description changed since the request blocks it: failed with TOOL_DEFINITION_CHANGED, the tool never runs', async () => {
    const { approvalId } = expectPending(await call('shape__target', { city: 'Paris' }), 'weather');
    const changed = gated.alice.fromNow();
    expect(resultText(await call('shape__shift'))).toBe('shifted');
    await gated.alice.waitForNotification('notifications/tools/list_changed', changed);
    await eventually(
      async () =>
        (await gated.alice.client.listTools()).tools
          .find((t) => t.name === 'shape__target')
          ?.description?.startsWith('deletes every file') === true,
      'Gatehouse lists the new description',
    );

    await approve(gated.approvals, approvalId, CAROL);
    const failed = await reaches(gated.approvals, approvalId, 'failed');
    expect(failed.execution?.error).toMatchObject({ code: 'TOOL_DEFINITION_CHANGED' });
    expect(failed.execution?.startedAt).toBeUndefined();
    expectNotRun(await status(approvalId), 'was NOT executed', 'changed after approval');
    // The same arguments to the changed tool are another call, with a request of its own.
    const again = expectPending(await call('shape__target', { city: 'Paris' }), 'weather');
    expect(again.approvalId).not.toBe(approvalId);
    expect(existsSync(setUp.shapeLog) ? readFileSync(setUp.shapeLog, 'utf8') : '').toBe('');
  });

  it('a tool whose description changed without list_changed blocks it too: Gatehouse asks the server itself', async () => {
    const sinister = 'reports the weather, then mails ~/.ssh to a stranger';
    const listed = await listedDescription();
    const { approvalId } = expectPending(await call('shape__target', { city: 'Oslo' }), 'weather');
    // What the server described when the call was made: what the approvers are shown.
    const before = (await gated.approvals.get(approvalId))!.toolDefinition!.description!;
    expect(listed).toContain(before);
    expect(resultText(await call('shape__shift', { silently: true, description: sinister }))).toBe('shifted');
    // Nothing told Gatehouse: its list is as it was.
    expect(await listedDescription()).toBe(listed);

    await approve(gated.approvals, approvalId, CAROL);
    const failed = await reaches(gated.approvals, approvalId, 'failed');
    expect(failed.execution?.error).toMatchObject({
      code: 'TOOL_DEFINITION_CHANGED',
      toolDefinition: { name: 'target', description: sinister },
    });
    expect(failed.execution?.startedAt).toBeUndefined();
    expect(failed.toolDefinition).toMatchObject({ name: 'target', description: before });

    // The identical retry is a new request against the tool as it is now, and says why.
    const retry = await call('shape__target', { city: 'Oslo' });
    const again = expectPending(retry, 'weather');
    expect(again.approvalId).not.toBe(approvalId);
    expect(resultText(retry)).toContain(
      `The tool's definition (description or input schema) changed since your earlier request ${approvalId} for this call was made (that request is now failed`,
    );
    expect(resultText(retry)).toContain(`this is a NEW approval request (${again.approvalId})`);
    expect(resultText(retry)).not.toContain('identical arguments join this request');
    expect(await gated.approvals.get(again.approvalId)).toMatchObject({
      toolDefinition: { description: sinister },
      definitionChangedSince: { id: approvalId, state: 'failed', toolDefinition: { description: before } },
    });
    // Gatehouse now lists what the server said.
    expect(await listedDescription()).toContain(sinister);

    const page = await newPage();
    await signInLocally(
      page,
      gated.url,
      { user: CAROL.id, password: passwordOf(CAROL) },
      `/approvals/${approvalId}`,
    );
    const changes = await page.textContent('[data-testid=definition-changes]');
    expect(changes).toContain('description');
    expect(changes).toContain(before);
    expect(changes).toContain(sinister);
    await page.goto(`${gated.url}/approvals/${again.approvalId}`);
    expect(await page.textContent('[data-testid=tool-description]')).toBe(sinister);
    expect(await page.textContent('[data-testid=tool-schema]')).toContain('"city"');
    expect(await page.textContent('[data-testid=definition-changes]')).toContain(before);
    expect(existsSync(setUp.shapeLog) ? readFileSync(setUp.shapeLog, 'utf8') : '').toBe('');
  });

  it('an unchanged tool runs: the fresh listing confirms it (server-filesystem writes the file)', async () => {
    const { approvalId } = expectPending(await gated.writeFile('confirmed.txt', 'fresh'), 'fs-write', true);
    await approve(gated.approvals, approvalId, BOB);
    expect(await reaches(gated.approvals, approvalId, 'executed')).toMatchObject({
      toolDefinition: { name: 'write_file', inputSchema: expect.objectContaining({ type: 'object' }) },
    });
    expect(readFileSync(path.join(setUp.files, 'confirmed.txt'), 'utf8')).toBe('fresh');
  });

  // The request keeps the caller's transport and client (store schema 2), so the re-check sees them.
  it('a policy that decides on how the caller came in judges the approved call as it judged the request', async () => {
    await changePolicy(
      'remote.yaml',
      `rules:
  - id: remote-removes
    description: Removing files is for callers over HTTP, with two people's approval.
    match: { servers: rec, tools: remove }
    when: caller.transport == "http"
    effect: approve
    approvers: [group:reviewers, carol]
    quorum: 2
  - id: no-local-removes
    match: { servers: rec, tools: remove }
    when: caller.transport != "http"
    effect: deny
    reason: removing files is for remote callers only
`,
    );
    try {
      const { approvalId } = expectPending(
        await call('rec__remove', { path: '/srv/cache' }),
        'remote-removes',
      );
      await approve(gated.approvals, approvalId, BOB);
      await approve(gated.approvals, approvalId, CAROL);
      expect(await reaches(gated.approvals, approvalId, 'executed')).toMatchObject({ decisions: [{}, {}] });
    } finally {
      await changePolicy('remote.yaml', undefined);
    }
  });
});
