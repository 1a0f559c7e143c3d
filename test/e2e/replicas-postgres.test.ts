import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import { fixtureServer, recorderServer, scratchDir } from '../helpers/config.js';
import { connectHttpAs } from '../helpers/embedded.js';
import {
  BOB,
  CAROL,
  TOKENS,
  approvalSetUp,
  approverApi,
  expectPending,
  passwordOf,
  type ApproverApi,
} from '../helpers/gated.js';
import { runGatehouseCli, startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';
import { usePostgres } from '../helpers/postgres.js';
import { startWebhookReceiver, type ReceivedEvent } from '../helpers/webhookReceiver.js';
import { startRoundRobinFront, type RoundRobinFront } from '../helpers/roundRobin.js';
import { inParallel } from '../helpers/parallel.js';
import { WITH_TASKS, modernHttpClient, type ModernClient } from '../helpers/modernClient.js';
import type { Json } from '../helpers/rawClient.js';

/**
 * Three Gatehouse processes on one PostgreSQL, as an organisation runs its shared gateway: every
 * guarantee holds across them. alice calls through any replica; bob and carol decide through any
 * replica; the recorder (one log for all three replicas' copies of it) shows what really ran.
 */

const postgres = usePostgres();
const scratch = scratchDir('replicas');
const recorder = recorderServer(path.join(scratch.dir, 'rec.jsonl'));
// Every replica announces through one webhook channel: each message must arrive once.
const hooks = await startWebhookReceiver();
const policies = path.dirname(
  scratch.write(
    'policies/replicas.yaml',
    [
      'default: deny',
      'rules:',
      '  - id: deploy',
      '    match: { servers: rec, tools: deploy }',
      '    effect: approve',
      '    reason: production deploys need a reviewer',
      '    approvers: [group:reviewers, carol]',
      '    ttl: 10m',
      '  - id: echo',
      '    match: { servers: rec, tools: echo }',
      '    effect: allow',
      '  - id: ask',
      '    match: { servers: probe, tools: ask }',
      '    effect: allow',
      '  - id: hang',
      '    match: { servers: hang, tools: hang }',
      '    effect: approve',
      '    reason: it never ends',
      '    approvers: [group:reviewers, carol]',
      '    ttl: 10m',
      '',
    ].join('\n'),
  ),
);

const AUDIT_KEY = path.join(scratch.dir, 'audit.key');
const auditDir = (i: number) => path.join(scratch.dir, `replica-${i}-audit`);

interface Replica {
  process: HttpGatehouse;
  alice: TestClient;
  bob: Awaited<ReturnType<ApproverApi['as']>>;
  carol: Awaited<ReturnType<ApproverApi['as']>>;
}

async function startReplica(i: number): Promise<Replica> {
  const { config } = approvalSetUp(scratch, `replica-${i}`, {
    mcpServers: { rec: recorder.server, hang: fixtureServer('hang'), probe: fixtureServer('probe') },
    policies,
    approvals: {
      store: '${PG_URL}',
      // Each sweep reads every open request; with a thousand of them pending, three replicas sweeping
      // ten times a second would spend the machine on it. Once a second still finds a dead replica's
      // lapsed claims promptly.
      sweepIntervalMs: 1_000,
      channels: { hooks: { type: 'webhook', url: hooks.url, secrets: hooks.secrets } },
      defaultChannels: ['page', 'hooks'],
      delivery: { initialBackoffMs: 50, maxBackoffMs: 200 },
      postgres: { tls: { mode: 'disable' }, replica: `replica-${i}`, leaseMs: 1_000, pollIntervalMs: 200 },
    },
    // Each replica writes its own log; they share one signing key (each could have its own, and an
    // auditor would pass every replica's verifier key).
    audit: { keyFile: AUDIT_KEY },
  });
  const process = await startHttpGatehouse(config, { PG_URL: postgres.url });
  const api = approverApi(process.baseUrl);
  return {
    process,
    alice: await connectHttpAs(process.mcpUrl, { token: TOKENS.alice }),
    bob: await api.as(BOB),
    carol: await api.as(CAROL),
  };
}

const replicas: Replica[] = [];
/** The round-robin load balancer, and what alice and bob reach through it. */
let front: RoundRobinFront;
let clients: TestClient[];
let bob: Awaited<ReturnType<ApproverApi['as']>>;
beforeAll(async () => {
  for (let i = 0; i < 3; i++) replicas.push(await startReplica(i));
  front = await startRoundRobinFront(() => replicas.map((r) => r.process.baseUrl));
  // Six MCP sessions: each initialize goes to the next replica, two sessions land on each.
  clients = [];
  for (let n = 0; n < 6; n++) clients.push(await connectHttpAs(`${front.url}/mcp`, { token: TOKENS.alice }));
  const api = approverApi(front.url);
  bob = await api.as(BOB);
});
afterAll(async () => {
  for (const client of clients ?? []) await client.close().catch(() => undefined);
  await front?.close();
  await hooks.close();
  for (const replica of replicas) {
    await replica.alice.close().catch(() => undefined);
    await replica.process.stop();
  }
  scratch.remove();
});

const call = (client: TestClient, build: string) =>
  client.client.callTool({ name: 'rec__deploy', arguments: { build } }) as Promise<CallToolResult>;
const deploy = (replica: Replica, build: string) => call(replica.alice, build);
const deploys = (build: string) =>
  recorder.received().filter((c) => c.name === 'deploy' && c.arguments.build === build);
/** The replica whose lease holds this request's execution, as the database says. */
const leaseOwner = (id: string) =>
  postgres.withClient(async (client) => {
    const { rows } = await client.query<{ lease_owner: string | null }>(
      "SELECT lease_owner FROM gatehouse.approvals WHERE id = $1 AND state = 'executing'",
      [id],
    );
    return rows[0]?.lease_owner ?? undefined;
  });
/** The requests with these ids as the database holds them, in one read. */
const storedRequests = (ids: readonly string[]) =>
  postgres.withClient(async (client) => {
    const { rows } = await client.query<{ doc: ApprovalRequest }>(
      'SELECT doc FROM gatehouse.approvals WHERE id = ANY($1)',
      [ids],
    );
    return rows.map((r) => r.doc);
  });
const stateOf = async (replica: Replica, id: string) =>
  (await replica.bob.get(id)).json.approval?.state as string | undefined;

describe('three replicas on one PostgreSQL behind a round-robin front', () => {
  it('makes one request of 100 identical calls spread over the replicas, and runs it once', async () => {
    const before = front.counts();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(clients[i % clients.length]!, 'v1-shared')),
    );
    // Every replica answered some of them.
    const answered = front.counts().map((n, i) => n - (before[i] ?? 0));
    expect(answered).toHaveLength(3);
    for (const n of answered) expect(n).toBeGreaterThan(0);
    const ids = new Set(results.map((r) => expectPending(r, 'deploy').approvalId));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    // alice waits in one session; bob approves through the front (on whichever replica it picks; his
    // token was issued by another): the change reaches the waiter's replica.
    let started!: () => void;
    const waiting = new Promise<void>((resolve) => (started = resolve));
    const waited = clients[0]!.client.callTool(
      { name: 'gatehouse__wait_for_approval', arguments: { approvalId: id, timeoutSeconds: 30 } },
      undefined,
      { onprogress: () => started() },
    ) as Promise<CallToolResult>;
    await waiting;
    expect((await bob.decide(id!, 'approve')).status).toBe(200);
    expect(await waited).toMatchObject({
      content: [{ type: 'text', text: 'deployed v1-shared' }],
      _meta: { 'gatehouse/approval': { status: 'executed', approvalId: id } },
    });
    // Identical calls after it ran get its outcome, on every replica; it ran once.
    for (const client of clients) {
      const again = await call(client, 'v1-shared');
      expect(again.content).toEqual([{ type: 'text', text: 'deployed v1-shared' }]);
    }
    expect(deploys('v1-shared')).toHaveLength(1);
    // Announced once, decided once, executed once, whichever replicas' outboxes were running.
    const ofRequest = (type: string) => (e: ReceivedEvent) =>
      e.body.type === type && e.body.data.approval.id === id;
    await hooks.waitFor(ofRequest('call.executed'), 'the execution reaches the webhook');
    const mine = hooks.received.filter((e) => e.body.data.approval.id === id);
    expect(mine.map((e) => e.body.type).sort()).toEqual([
      'approval.decided',
      'approval.requested',
      'call.executed',
    ]);
    for (const e of mine) expect(hooks.acknowledged().get(e.id)).toBe(1);
  });

  it('lets the first decision win in each of 1,000 approve/reject races, each decided on two replicas at once', async () => {
    const builds = Array.from({ length: 1_000 }, (_, i) => `v2-race-${i}`);
    // 1,000 real gated calls over the six sessions (two on each replica), 48 in flight at a time.
    const ids = await inParallel(
      builds,
      48,
      async (build, i) => expectPending(await call(clients[i % clients.length]!, build), 'deploy').approvalId,
    );
    expect(new Set(ids).size).toBe(ids.length);
    // For each request, at once: bob approves on one replica and carol rejects on the next one, each
    // sent first half the time; 32 races in flight at a time.
    const race = async (id: string, i: number) => {
      const approve = () => replicas[i % 3]!.bob.decide(id, 'approve');
      const reject = () => replicas[(i + 1) % 3]!.carol.decide(id, 'reject', 'not today');
      const [approval, rejection] =
        i % 2 === 0
          ? await Promise.all([approve(), reject()])
          : (await Promise.all([reject(), approve()])).reverse();
      // Exactly one is accepted; the other is refused as too late, not failed.
      expect([approval!.status, rejection!.status].sort(), id).toEqual([200, 409]);
      return { id, approved: approval!.status === 200 };
    };
    const outcomes = await inParallel(ids, 32, race);
    // The requests as the database holds them: each one ends as its accepted decision says, and its
    // history is that decision alone.
    let open: ApprovalRequest[] = [];
    let requests: ApprovalRequest[] = [];
    await eventually(
      async () => {
        requests = await storedRequests(ids);
        open = requests.filter((r) => r.state !== 'executed' && r.state !== 'rejected');
        return requests.length === ids.length && open.length === 0;
      },
      () => `every raced request finished (${open.length} not yet)`,
      120_000,
    );
    const byId = new Map(requests.map((r) => [r.id, r]));
    const runs = new Map<unknown, number>();
    for (const c of recorder.received()) {
      if (c.name === 'deploy') runs.set(c.arguments.build, (runs.get(c.arguments.build) ?? 0) + 1);
    }
    for (const [i, { id, approved: won }] of outcomes.entries()) {
      const request = byId.get(id)!;
      const history = request.decisions.map((d) => `${d.approver.id}:${d.decision}`);
      expect(history, id).toEqual([won ? 'bob:approve' : 'carol:reject']);
      expect(request.state, id).toBe(won ? 'executed' : 'rejected');
      // Run once when approved, never when rejected: no double execution.
      expect(runs.get(builds[i]) ?? 0, builds[i]).toBe(won ? 1 : 0);
    }
    // Each request's announce went out once, though three replicas' outboxes were claiming. The
    // outboxes deliver at their own pace (four at a time each): wait until every request's arrived.
    const raced = new Set(ids);
    const announces = () =>
      hooks.received.filter(
        (e) => e.body.type === 'approval.requested' && raced.has(e.body.data.approval.id),
      );
    await eventually(
      () => new Set(announces().map((e) => e.body.data.approval.id)).size === ids.length,
      () => `every raced request announced (${announces().length} of ${ids.length} so far)`,
      180_000,
    );
    expect(announces()).toHaveLength(ids.length);
    for (const [webhookId, answered] of hooks.acknowledged()) expect(answered, webhookId).toBe(1);
  }, 600_000);

  it("keeps a killed replica's pending requests; another replica approves and runs them once", async () => {
    const victim = replicas[1]!;
    const ids = [];
    for (const build of ['v3-kept-a', 'v3-kept-b']) {
      ids.push(expectPending(await deploy(victim, build), 'deploy').approvalId);
    }
    await victim.process.stop('SIGKILL');
    onTestFinished(async () => {
      if (replicas[1] === victim) replicas[1] = await startReplica(1);
    });
    for (const id of ids) expect(await stateOf(replicas[0]!, id)).toBe('pending');
    for (const id of ids) expect((await replicas[2]!.carol.decide(id, 'approve')).status).toBe(200);
    for (const id of ids) {
      await eventually(async () => (await stateOf(replicas[0]!, id)) === 'executed', `${id} executed`);
    }
    expect(deploys('v3-kept-a')).toHaveLength(1);
    expect(deploys('v3-kept-b')).toHaveLength(1);
    replicas[1] = await startReplica(1);
  });

  it('records unknown only the execution the killed replica was running, nothing else', async () => {
    const hung = expectPending(
      (await replicas[2]!.alice.client.callTool({ name: 'hang__hang', arguments: {} })) as CallToolResult,
      'hang',
    ).approvalId;
    const pending = expectPending(await deploy(replicas[2]!, 'v4-untouched'), 'deploy').approvalId;
    // Approved: one replica claims it (the deciding one, or another's sweep) and the call hangs there.
    expect((await replicas[2]!.bob.decide(hung, 'approve')).status).toBe(200);
    let owner: string | undefined;
    await eventually(async () => {
      owner = await leaseOwner(hung);
      return owner !== undefined;
    }, "the call is executing under a replica's claim");
    const i = Number(/^replica-(\d)$/.exec(owner!)![1]);
    const runner = replicas[i]!;
    const other = replicas[(i + 1) % 3]!;
    expect(await stateOf(other, hung)).toBe('executing');
    await runner.process.stop('SIGKILL');
    onTestFinished(async () => {
      if (replicas[i] === runner) replicas[i] = await startReplica(i);
    });
    // Its claim lapses; a live replica records the call unknown (it may have run), and only it.
    await eventually(
      async () => (await stateOf(other, hung)) === 'unknown',
      'the call becomes unknown',
      60_000,
    );
    expect(await stateOf(other, pending)).toBe('pending');
    replicas[i] = await startReplica(i);
    expect(await stateOf(replicas[i]!, hung)).toBe('unknown');
  });

  it("knows an approver's API token on every replica, a revocation everywhere, and counts failed sign-ins together", async () => {
    const signIn = (replica: Replica, password: string) =>
      fetch(`${replica.process.baseUrl}/api/tokens`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`carol:${password}`).toString('base64')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ label: 'replicas' }),
      });
    const issued = await signIn(replicas[0]!, passwordOf(CAROL));
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    const list = (replica: Replica) =>
      fetch(`${replica.process.baseUrl}/api/approvals?state=pending`, {
        headers: { authorization: `Bearer ${token}` },
      });
    for (const replica of replicas) expect((await list(replica)).status).toBe(200);
    const revoked = await fetch(`${replicas[1]!.process.baseUrl}/api/tokens/current`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(revoked.status).toBe(204);
    for (const replica of replicas) expect((await list(replica)).status).toBe(401);

    // Five wrong passwords for one account from one address, spread over the replicas: the sixth try
    // is throttled on whichever replica it reaches, even with the right password.
    for (let n = 0; n < 5; n++) expect((await signIn(replicas[n % 3]!, 'wrong')).status).toBe(401);
    for (const replica of replicas) expect((await signIn(replica, passwordOf(CAROL))).status).toBe(429);
  });

  it("verifies the replicas' audit logs together, and notices when one is left out", async () => {
    const verify = (...replicaDirs: string[]) =>
      runGatehouseCli([
        'audit',
        'verify',
        '--dir',
        auditDir(0),
        '--key-file',
        AUDIT_KEY,
        ...replicaDirs.flatMap((dir) => ['--replica', dir]),
      ]);
    const all = await verify(auditDir(1), auditDir(2));
    expect(all.stdout).toContain(
      'OK: 3 replica logs verify together: every request they record was requested in one of them',
    );
    expect(all.code).toBe(0);
    // Requests made on replica 2 were decided on replica 0: without replica 2's log, those decisions
    // concern requests no log holds.
    const partial = await verify(auditDir(1));
    expect(partial.stdout).toContain('a replica log is missing from the set');
    expect(partial.code).toBe(1);
  });
});

describe('a 2026-07-28 client behind a front that pins nothing', () => {
  // Every request goes to the next replica, whatever it carries: no affinity at all.
  let unpinned: RoundRobinFront;
  let alice: ModernClient;
  let mallory: ModernClient;
  beforeAll(async () => {
    unpinned = await startRoundRobinFront(() => replicas.map((r) => r.process.baseUrl), { affinity: false });
    alice = modernHttpClient(`${unpinned.url}/mcp`, { token: TOKENS.alice });
    mallory = modernHttpClient(`${unpinned.url}/mcp`, { token: TOKENS.mallory });
  });
  afterAll(async () => {
    await alice?.close();
    await mallory?.close();
    await unpinned?.close();
  });

  /** The replica (its index) that answered the last request through the front. */
  const landed = () => unpinned.routed().at(-1)!.backend;
  const getTask = (taskId: string, client = alice) =>
    client.call('tasks/get', { taskId }, { capabilities: WITH_TASKS });
  /** tasks/get once on each replica, in turn: the answers, each on a replica of its own. */
  async function everywhere(taskId: string): Promise<Json[]> {
    const answers: Json[] = [];
    const on = new Set<number>();
    for (let n = 0; n < 3; n++) {
      answers.push(await getTask(taskId));
      on.add(landed());
    }
    expect(on.size).toBe(3);
    return answers;
  }
  const task = async (build: string) => {
    const created = await alice.call(
      'tools/call',
      { name: 'rec__deploy', arguments: { build } },
      { capabilities: WITH_TASKS },
    );
    expect(created).toMatchObject({ resultType: 'task', status: 'working' });
    return { id: created.taskId as string, on: landed() };
  };

  it('lists tools, calls and follows a task to its result, each request on whichever replica it reaches', async () => {
    const listed = await alice.call('tools/list', {});
    expect(listed.tools.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['rec__deploy', 'rec__echo']),
    );
    const echoedOn = new Set<number>();
    for (const message of ['one', 'two', 'three']) {
      const echoed = await alice.call('tools/call', { name: 'rec__echo', arguments: { message } });
      expect(echoed.content).toEqual([{ type: 'text', text: message }]);
      echoedOn.add(landed());
    }
    expect(echoedOn.size).toBe(3);

    // The held call's task is its request in the shared store: every replica reads it.
    const created = await task('v5-task');
    for (const working of await everywhere(created.id)) {
      expect(working).toMatchObject({ taskId: created.id, status: 'working' });
    }
    // Decided on another replica than the one the call came through; run by whichever claims it.
    const decider = replicas[(created.on + 1) % 3]!;
    expect((await decider.bob.decide(created.id, 'approve')).status).toBe(200);
    await eventually(async () => (await stateOf(decider, created.id)) === 'executed', 'the call ran');
    for (const done of await everywhere(created.id)) {
      expect(done).toMatchObject({
        taskId: created.id,
        status: 'completed',
        result: { content: [{ type: 'text', text: 'deployed v5-task' }] },
      });
    }
    expect(deploys('v5-task')).toHaveLength(1);
    // Nothing to pin: no answer issued a session.
    expect(unpinned.routed().filter((r) => r.issuedSession)).toEqual([]);
  });

  it('cancels a task through another replica than the one that made it; every replica reports it cancelled', async () => {
    const created = await task('v5-cancel');
    expect(
      await alice.call('tasks/cancel', { taskId: created.id }, { capabilities: WITH_TASKS }),
    ).toMatchObject({
      resultType: 'complete',
    });
    expect(landed()).not.toBe(created.on);
    for (const cancelled of await everywhere(created.id)) {
      expect(cancelled).toMatchObject({ taskId: created.id, status: 'cancelled' });
    }
    expect(await stateOf(replicas[0]!, created.id)).toBe('cancelled');
    expect(deploys('v5-cancel')).toHaveLength(0);
    // The task stays its caller's on every replica: for anyone else it does not exist.
    for (let n = 0; n < 3; n++) {
      await expect(getTask(created.id, mallory)).rejects.toThrow(`Task not found: ${created.id}`);
    }
  });

  it("sends a task's completion on a listen stream held by one replica when another decides", async () => {
    const created = await task('v5-listen');
    const listen = alice.send(
      'subscriptions/listen',
      { notifications: { taskIds: [created.id] } },
      { capabilities: WITH_TASKS },
    );
    await eventually(() => listen.received.length > 0, 'the acknowledgement');
    expect(listen.received[0]).toMatchObject({
      method: 'notifications/subscriptions/acknowledged',
      params: { notifications: { taskIds: [created.id] } },
    });
    const listening = unpinned.routed().findLast((r) => r.method === 'subscriptions/listen')!.backend;
    expect((await replicas[(listening + 1) % 3]!.bob.decide(created.id, 'approve')).status).toBe(200);
    await eventually(
      () =>
        listen.received.some((f) => f.method === 'notifications/tasks' && f.params.status === 'completed'),
      'the completed task on the stream',
      30_000,
    );
    expect(listen.received.find((f) => f.params?.status === 'completed')!.params).toMatchObject({
      taskId: created.id,
      result: { content: [{ type: 'text', text: 'deployed v5-listen' }] },
    });
    await listen.cancel();
    expect(deploys('v5-listen')).toHaveLength(1);
  });
  it("takes a call's retry after input_required only on the replica holding the call; another refuses it", async () => {
    // The probe's `ask` asks the client to sample, then to elicit: the call is held open meanwhile.
    const caps = { sampling: {}, elicitation: {} };
    const call = { name: 'probe__ask', arguments: {} };
    const first = await alice.call('tools/call', call, { capabilities: caps });
    expect(first.resultType).toBe('input_required');
    const holder = landed();
    const [key, asked] = Object.entries(first.inputRequests as Record<string, Json>)[0]!;
    expect(asked.method).toBe('sampling/createMessage');
    const retry = {
      ...call,
      requestState: first.requestState,
      inputResponses: { [key]: { role: 'assistant', content: { type: 'text', text: 'S' }, model: 'm' } },
    };
    // The front sends the retry to another replica: the server's call is open in the holder alone,
    // whose key sealed the state, so the other refuses it (fails closed) rather than run anything.
    const elsewhere = await alice.request('tools/call', retry, { capabilities: caps });
    expect(landed()).not.toBe(holder);
    expect(elsewhere.at(-1)!.error).toMatchObject({
      code: -32602,
      message: expect.stringContaining('Invalid requestState'),
    });
    // Sent to the holder, it goes on: the next round asks to elicit.
    const direct = modernHttpClient(replicas[holder]!.process.mcpUrl, { token: TOKENS.alice });
    const second = await direct.call('tools/call', retry, { capabilities: caps });
    expect(second.resultType).toBe('input_required');
    const [elicitKey, elicit] = Object.entries(second.inputRequests as Record<string, Json>)[0]!;
    expect(elicit.method).toBe('elicitation/create');
    const final = await direct.call(
      'tools/call',
      {
        ...call,
        requestState: second.requestState,
        inputResponses: { [elicitKey]: { action: 'accept', content: { name: 'Ada' } } },
      },
      { capabilities: caps },
    );
    expect(JSON.parse(final.content[0].text as string)).toMatchObject({
      sampled: { content: { text: 'S' } },
      elicited: { action: 'accept', content: { name: 'Ada' } },
    });
    await direct.close();
  });
});
