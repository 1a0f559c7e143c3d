import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/approvals/channels/delivery.js';
import { applyDecision } from '../../src/approvals/states.js';
import { openLowdbStore } from '../../src/store/index.js';
import { auditEvents } from '../helpers/audit.js';
import { scratchDir } from '../helpers/config.js';
import { connectHttpAs, startEmbeddedGatehouse, type EmbeddedGatehouse } from '../helpers/embedded.js';
import {
  BOB,
  CAROL,
  TOKENS,
  approvalSetUp,
  expectPending,
  gatedGatehouse,
  passwordOf,
} from '../helpers/gated.js';
import { formatStatus } from '../../src/cli/status.js';
import type { GatehouseStatus } from '../../src/main.js';
import { startHttpGatehouse } from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';
import { startWebhookReceiver, type ReceivedEvent } from '../helpers/webhookReceiver.js';

/**
 * Deliveries when channels misbehave: a receiver that answers 500, 429 with Retry-After, refuses for
 * good, or is down; and a Gatehouse killed with deliveries pending. Whatever happens, nothing is
 * approved by it, nothing is lost, and nothing a receiver acknowledged is sent to it again (counted by
 * webhook-id at the receiver). Tests wait for what the receiver gets, never for time to pass.
 */

const scratch = scratchDir('channels-delivery');
// gatedGatehouse removes its scratch folder when its describe ends: the restart has its own.
const restartScratch = scratchDir('channels-restart');
const receiver = await startWebhookReceiver();
const restartReceiver = await startWebhookReceiver();
afterAll(async () => {
  await receiver.close();
  await restartReceiver.close();
  restartScratch.remove();
});

const channelSettings = (name: string, url: string, secrets: string[]) => ({
  approvals: {
    store: path.join(scratch.dir, `${name}-store.json`),
    sweepIntervalMs: 100,
    channels: { hooks: { type: 'webhook', url, secrets } },
    defaultChannels: ['page', 'hooks'],
    // Fast retries, and enough of them that a receiver down for a while is retried until it is back.
    delivery: { initialBackoffMs: 50, maxBackoffMs: 200, maxAttempts: 100 },
  },
});

const announceOf = (approvalId: string) => (event: ReceivedEvent) =>
  event.body.type === 'approval.requested' && event.body.data.approval.id === approvalId;
const acknowledged = (approvalId: string) => (event: ReceivedEvent) =>
  announceOf(approvalId)(event) && event.status === 200;

/** The page's session cookie for one of the cast, signed in with the local account form. */
async function pageCookie(url: string, who: { id: string }): Promise<string> {
  const form = await fetch(`${url}/approvals/sign-in`);
  const formCookie = form.headers.get('set-cookie')!.split(';')[0]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const signIn = await fetch(`${url}/approvals/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: formCookie },
    body: new URLSearchParams({
      csrf,
      user: who.id,
      password: passwordOf(who),
      next: '/approvals',
    }).toString(),
  });
  expect(signIn.status).toBe(303);
  return signIn.headers.get('set-cookie')!.split(';')[0]!;
}

describe('a misbehaving receiver', () => {
  const gated = gatedGatehouse(scratch, 'flaky', channelSettings('flaky', receiver.url, receiver.secrets));
  const deploy = async (build: string) =>
    expectPending((await gated.call('rec__deploy', { build })) as CallToolResult, 'deploy').approvalId;
  /** The first line of the Gatehouse's log that matches, once it is written. */
  const loggedLine = async (match: (entry: Record<string, unknown>) => boolean, what: string) => {
    const entries = async () =>
      (await readFile(gated.setUp.logFile, 'utf8').catch(() => ''))
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    await eventually(async () => (await entries()).some(match), what);
  };
  // The running Gatehouse holds the store; its file is rewritten whole on every change.
  const deliveriesOf = async (approvalId: string): Promise<DeliveryRecord[]> => {
    const document = JSON.parse(await readFile(gated.setUp.store, 'utf8')) as {
      deliveries: DeliveryRecord[];
    };
    return document.deliveries.filter((d) => d.approvalId === approvalId);
  };

  it('is retried after 500 and after 429 with Retry-After, with the same webhook-id, until it acknowledges', async () => {
    receiver.script({ status: 500 }, { status: 429, headers: { 'retry-after': '1' } });
    const id = await deploy('flaky');
    const acked = await receiver.waitFor(acknowledged(id), 'the announce acknowledged');
    const tries = receiver.received.filter(announceOf(id));
    expect(tries.map((e) => e.status)).toEqual([500, 429, 200]);
    expect(new Set(tries.map((e) => e.id))).toEqual(new Set([acked.id]));
    // The receiver answered before Gatehouse wrote down that it did.
    await eventually(async () => (await deliveriesOf(id))[0]?.state === 'delivered', 'marked delivered');
    const [delivery] = await deliveriesOf(id);
    expect(delivery).toMatchObject({ state: 'delivered', attempts: 3, target: new URL(receiver.url).host });
    expect((await gated.approvals.get(id))!).toMatchObject({ state: 'pending', decisions: [] });
  });

  it('is given up at once when it refuses for good (410): failed on the page, in status and on the record', async () => {
    receiver.script({ status: 410 });
    const id = await deploy('gone');
    await eventually(async () => (await deliveriesOf(id))[0]?.state === 'failed', 'the delivery failed');
    expect(receiver.received.filter(announceOf(id)).map((e) => e.status)).toEqual([410]);
    const cookie = await pageCookie(gated.url, BOB);
    const page = await (await fetch(`${gated.url}/approvals/${id}`, { headers: { cookie } })).text();
    expect(page).toContain('data-testid="deliveries"');
    expect(page).toMatch(/data-state="failed">failed<\/strong> after 1 attempt/);
    expect(page).toContain('HTTP 410 from');
    await eventually(
      async () =>
        (await auditEvents(gated.setUp.audit)).some(
          (e) => e.event === 'approval.delivered' && e.approvalId === id && !e.ok,
        ),
      'approval.delivered ok: false on the record',
    );
    const record = (await auditEvents(gated.setUp.audit)).find(
      (e) => e.event === 'approval.delivered' && e.approvalId === id,
    );
    expect(record).toMatchObject({ channel: 'hooks', ok: false, error: expect.stringContaining('HTTP 410') });
    await loggedLine(
      (e) =>
        e.msg === 'delivery failed for good' &&
        e.approvalId === id &&
        /not retried: HTTP 410/.test(String(e.reason)),
      'the log says the delivery failed for good, and why',
    );
    expect((await gated.approvals.get(id))!.state).toBe('pending');
  });

  it('that is down leaves the request pending and says so in status and the log, and gets it once back up', async () => {
    await receiver.down();
    const id = await deploy('down');
    const hooks = () => gated.embedded.gatehouse.status().channels.find((c) => c.name === 'hooks')!;
    await eventually(
      async () => ((await deliveriesOf(id))[0]?.attempts ?? 0) >= 2 && hooks().lastError !== undefined,
      'two attempts failed, and status says so',
    );
    expect(hooks().lastError?.message).toMatch(/cannot reach 127\.0\.0\.1:\d+/);
    await loggedLine(
      (e) =>
        e.msg === 'delivery failed; will retry' &&
        e.approvalId === id &&
        /cannot reach/.test(String(e.reason)),
      'the log says what failed',
    );
    expect(gated.embedded.gatehouse.status().problems.join('\n')).toMatch(
      /channel hooks is failing: cannot reach/,
    );
    // GET /status as a caller may (this Gatehouse authenticates its callers), as `gatehouse status` shows it.
    const response = await fetch(`${gated.url}/status`, {
      headers: { authorization: `Bearer ${TOKENS.alice}` },
    });
    const status = (await response.json()) as GatehouseStatus;
    expect(status.channels).toEqual([
      expect.objectContaining({ name: 'hooks', type: 'webhook', pending: 1 }),
    ]);
    const lines = formatStatus(status).split('\n');
    expect(lines.find((l) => l.startsWith('hooks'))).toMatch(/^hooks\s+webhook\s+\d+\s+\d+\s+cannot reach/);
    const cookie = await pageCookie(gated.url, CAROL);
    const page = await (await fetch(`${gated.url}/approvals/${id}`, { headers: { cookie } })).text();
    expect(page).toMatch(/data-state="pending">retrying<\/span>/);
    expect((await gated.approvals.get(id))!).toMatchObject({ state: 'pending', decisions: [] });

    await receiver.up();
    await receiver.waitFor(acknowledged(id), 'the announce once the receiver is back');
    for (const [webhookId, count] of receiver.acknowledged()) expect(count, webhookId).toBe(1);
    await eventually(
      () => !gated.embedded.gatehouse.status().channels[0]!.lastError,
      'the channel recovered',
    );
  });
});

describe('a Gatehouse killed with deliveries pending', () => {
  const setUp = approvalSetUp(restartScratch, 'killed', {
    ...channelSettings('killed', restartReceiver.url, restartReceiver.secrets),
    approvals: {
      ...channelSettings('killed', restartReceiver.url, restartReceiver.secrets).approvals,
      store: path.join(restartScratch.dir, 'killed-store.json'),
    },
  });
  let embedded: EmbeddedGatehouse | undefined;
  afterAll(async () => embedded?.stop());
  const ids: Record<string, string> = {};

  it('resumes them on the next start: nothing lost, nothing approved, nothing acknowledged sent again', async () => {
    const first = await startHttpGatehouse(setUp.config);
    try {
      const alice = await connectHttpAs(first.mcpUrl, { token: TOKENS.alice });
      const deploy = async (build: string) =>
        expectPending(
          (await alice.client.callTool({ name: 'rec__deploy', arguments: { build } })) as CallToolResult,
          'deploy',
        ).approvalId;
      ids.acked = await deploy('acked');
      await restartReceiver.waitFor(acknowledged(ids.acked), 'the first announce acknowledged');
      // From now on the receiver fails everything: the second announce is retried until the kill.
      restartReceiver.always({ status: 503 });
      ids.retried = await deploy('retried');
      await eventually(
        () => restartReceiver.received.filter(announceOf(ids.retried!)).length >= 2,
        'the second announce tried twice',
      );
    } finally {
      await first.stop('SIGKILL');
    }

    // A crash between a request's change and its enqueue: the store moved on, no delivery was added.
    const store = await openLowdbStore(setUp.store);
    try {
      const decided = await store.transition(ids.retried!, 'pending', (r) =>
        applyDecision(r, { approver: CAROL, decision: 'reject', reason: 'not this build' }, new Date()),
      );
      expect(decided.ok).toBe(true);
      expect((await store.listDeliveries({ approvalId: ids.retried! })).map((d) => d.stage)).toEqual([
        'requested',
      ]);
    } finally {
      await store.close();
    }

    restartReceiver.always(undefined);
    embedded = await startEmbeddedGatehouse(setUp.config, { logFile: setUp.logFile });
    await restartReceiver.waitFor(acknowledged(ids.retried!), 'the second announce after the restart');
    const decidedEvent = await restartReceiver.waitFor(
      (e) =>
        e.body.type === 'approval.decided' && e.body.data.approval.id === ids.retried && e.status === 200,
      'the rejection the crash left unqueued',
    );
    expect(decidedEvent.body.data.decision).toMatchObject({ by: 'carol', verdict: 'reject' });

    // Nothing acknowledged came twice; the first announce came exactly once.
    for (const [webhookId, count] of restartReceiver.acknowledged()) expect(count, webhookId).toBe(1);
    expect(restartReceiver.received.filter(announceOf(ids.acked!))).toHaveLength(1);
    // Deliveries approve nothing.
    const approvals = embedded.gatehouse.approvals;
    expect((await approvals.get(ids.acked!))!).toMatchObject({ state: 'pending', decisions: [] });
    expect((await approvals.get(ids.retried!))!.state).toBe('rejected');
  });

  it('stops within its bounds while a receiver never answers, leaving the delivery to the next start', async () => {
    restartReceiver.always({ status: 0 });
    const alice = await embedded!.connect({ token: TOKENS.alice });
    const { approvalId } = expectPending(
      (await alice.client.callTool({ name: 'rec__deploy', arguments: { build: 'hung' } })) as CallToolResult,
      'deploy',
    );
    await restartReceiver.waitFor(announceOf(approvalId), 'the announce, which gets no answer');
    await embedded!.stop();
    embedded = undefined;
    const store = await openLowdbStore(setUp.store);
    try {
      expect(await store.listDeliveries({ approvalId })).toEqual([
        expect.objectContaining({
          state: 'pending',
          lastError: expect.stringMatching(/interrupted by shutdown/),
        }),
      ]);
    } finally {
      await store.close();
    }
    restartReceiver.always(undefined);
  });
});
