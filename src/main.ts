import type { Config } from './config/schema.js';
import { channelNames } from './approvals/channels/config.js';
import { createChannels } from './approvals/channels/index.js';
import { createOutbox, type ChannelDeliveryStatus } from './approvals/channels/outbox.js';
import { summarize } from './approvals/channels/summary.js';
import { requestPageLinks } from './approvals/pageLink.js';
import type { ApprovalRequest } from './approvals/request.js';
import { createApprovalService, type ApprovalService } from './approvals/service.js';
import { createApprovalWeb } from './approvals/web/index.js';
import { loadPolicyEngine, type PolicyStatus } from './decision/index.js';
import { createEventBus, redactEvents } from './audit/bus.js';
import type { AuditEvent } from './audit/events.js';
import { otlpExporterFromConfig, type OtlpStats } from './audit/otlp.js';
import { openAuditTrail } from './audit/trail.js';
import { createApprovedExecutor } from './execution/approved.js';
import { createExecutor } from './execution/executor.js';
import { createCredentialBroker, credentialNames } from './credentials/broker.js';
import { credentialsScrubbedTotal } from './redact/known.js';
import path from 'node:path';
import { createRedactor } from './redact/index.js';
import { openStore, sharedApproverState, unavailableStore } from './store/index.js';
import { describeCollision } from './downstream/catalog.js';
import { DownstreamPool } from './downstream/pool.js';
import { GatehouseError, isGatehouseError } from './errors.js';
import { createAggregate } from './front/aggregate.js';
import { startOutcomeNotices } from './front/outcomeNotices.js';
import { startHttpFront, type HttpFront, type HttpFrontStatus } from './front/http.js';
import { createRelay } from './front/relay.js';
import { createModernFront } from './front/era2026/dispatch.js';
import { createInputBridge } from './front/era2026/inputs.js';
import { createListenHub, relayingToListeners } from './front/era2026/listen.js';
import { EraSplitTransport } from './front/era2026/stdio.js';
import { createSession, type FrontDeps } from './front/session.js';
import { SessionRegistry } from './front/sessions.js';
import { StartGate } from './front/startGate.js';
import { StdioFrontTransport } from './front/stdio.js';
import { createHttpAuthenticator, resolveStdioCaller } from './identity/index.js';
import type { Logger } from './log.js';
import { withNonFiniteNamed } from './shared/json.js';
import { readyLine } from './ready.js';
import { VERSION } from './version.js';

export interface ServeOptions {
  config: Config;
  logger: Logger;
  /** Serve MCP over Streamable HTTP on /mcp instead of stdio. */
  http: boolean;
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
}

export interface Gatehouse {
  http?: HttpFront;
  /** The approval requests, as channels see them (embedding, tests). */
  approvals: ApprovalService;
  status(): GatehouseStatus;
  /** Stops every part; `reason` (a signal's name, `stdin closed`) goes on the record. */
  stop(reason?: string): Promise<void>;
  /** Resolves when Gatehouse has stopped (client gone on stdio, or stop()). */
  stopped: Promise<void>;
}

export interface GatehouseStatus {
  version: string;
  pid: number;
  startedAt: string;
  transport: 'stdio' | 'http';
  mcpUrl?: string;
  /** Client sessions on every front: open now, their MCP tasks, and what the HTTP bounds did. */
  sessions: { open: number; tasks: number } & HttpFrontStatus['sessions'];
  http: { abortedRequests: number };
  /** MCP 2026-07-28 clients: open subscriptions/listen, calls under way, calls waiting for input. */
  modern: { listens: number; calls: number; waitingForInput: number };
  /** Signed-in approvers' page sessions and personal API tokens held in memory. */
  approvalPage: { sessions: number; tokens: number };
  servers: ReturnType<DownstreamPool['status']>;
  policy: PolicyStatus;
  /** Each channel's deliveries: pending, failed (given up), and its latest error while it fails. */
  channels: ChannelDeliveryStatus[];
  /** How often a credential's value was scrubbed from output (results, errors, logs, records). */
  credentials: { scrubbed: number };
  /** The audit log this process writes, its size and state. */
  audit: {
    dir: string;
    state: string;
    size: number;
    checkpointSize: number;
    lastError?: string;
    /** The SIEM copy's counts, when audit.otlp is set. */
    otlp?: OtlpStats;
  };
  problems: string[];
}

/**
 * Composition root: build the parts, connect the downstreams, start the fronts. A start that fails at
 * any point stops again whatever it had started (children, store lock, watcher, listener) and throws,
 * so the process exits instead of living on half-started.
 */
export async function serve(options: ServeOptions): Promise<Gatehouse> {
  const teardown = teardownOnFailure();
  try {
    return await start(options, teardown);
  } catch (error) {
    await teardown.run(options.logger);
    throw error;
  }
}

/** What a start has brought up so far, to be stopped in reverse order when a later step fails. */
function teardownOnFailure() {
  const stops: (() => Promise<unknown> | unknown)[] = [];
  return {
    add: (stop: () => Promise<unknown> | unknown) => void stops.push(stop),
    async run(logger: Logger) {
      for (const stop of stops.reverse()) {
        try {
          await stop();
        } catch (error) {
          logger.warn({ err: error }, 'stopping a part after a failed start failed');
        }
      }
    },
  };
}

async function start(
  options: ServeOptions,
  teardown: ReturnType<typeof teardownOnFailure>,
): Promise<Gatehouse> {
  const { config, logger } = options;
  const startedAt = new Date().toISOString();
  // Checked before anything starts: a token given twice or a symmetric JWT algorithm refuses the start.
  const authenticator = createHttpAuthenticator(config.identity, logger);
  // Policies first: a set that fails to load refuses the start before any server is spawned.
  const policy = await loadPolicyEngine({
    dir: config.policies,
    vars: config.vars,
    limits: config.policyLimits,
    channels: channelNames(config.approvals.channels),
    credentials: credentialNames(config.servers),
    logger,
    watch: true,
    settleMs: config.policyReload.settleMs,
  });
  teardown.add(() => policy.close());
  // The store: a second HTTP Gatehouse on the same file is refused before anything starts. A
  // second stdio one (a client that launches the same config twice) serves without approvals.
  // Replicas on PostgreSQL share it.
  let storeProblem: string | undefined;
  const store = await openStore(config.approvals, logger).catch(async (error: unknown) => {
    if (!options.http && isGatehouseError(error) && error.code === 'STORE_LOCKED') {
      storeProblem = `approvals are unavailable, gated calls are refused: ${error.message}`;
      logger.error({ store: config.approvals.store }, storeProblem);
      return unavailableStore(error);
    }
    throw error;
  });
  teardown.add(() => store.close());
  // The audit trail before anything it must record: a log that fails its own check refuses the start.
  // A second stdio Gatehouse writes a sibling log (see openAuditTrail).
  const trail = await openAuditTrail({
    config: config.audit,
    logger,
    spill: !options.http,
    onEvent: (event) => void events.publish(event).catch(() => undefined),
  });
  teardown.add(() => trail.close());
  const redactor = createRedactor({ ...config.audit.redact, digestKey: trail.digestKey });
  const events = createEventBus(trail, logger, redactEvents(redactor));
  // A copy for the SIEM, best-effort: the signed log stays the record.
  const exporter = otlpExporterFromConfig(config.audit, logger);
  if (exporter) {
    events.subscribe(({ event, appended }) => exporter.push(event, appended));
    teardown.add(() => exporter.close());
  }
  const redact = (args: Record<string, unknown>) => {
    try {
      return redactor.redactArguments(args);
    } catch (error) {
      // Arguments with a non-finite number are refused before any rule runs; their record says so.
      if (!isGatehouseError(error, 'DIGEST_INPUT_INVALID')) throw error;
      return redactor.redactArguments(withNonFiniteNamed(args) as Record<string, unknown>);
    }
  };
  /** Records that govern nothing (a server restarted, a policy reloaded): a failure is logged. */
  const note = (event: AuditEvent) =>
    void events
      .publish(event)
      .catch((error: unknown) => logger.error({ event: event.event, reason: String(error) }, 'not recorded'));
  note({ event: 'policy.loaded', ...policy.describe() });
  const sessions = new SessionRegistry();
  // The relay needs the pool and the pool's hooks need the relay: the getter breaks the cycle.
  // 2026-07-28 clients hear of changed lists on subscriptions/listen, legacy sessions from the relay.
  const listenHub = createListenHub();
  // Servers' requests during modern calls travel as input requests, held as long as a call may take.
  const inputs = createInputBridge({ holdMs: config.timeouts.callMs });
  const relay = relayingToListeners(
    createRelay(() => pool, sessions, logger, inputs),
    listenHub,
  );
  const pool = new DownstreamPool(config, logger, {
    ...relay,
    onServerState: (connection) => {
      const status = connection.status();
      if (connection.state === 'ready') {
        note({
          event: 'downstream.connected',
          server: connection.name,
          transport: status.transport,
          tools: status.tools,
          restarts: status.restarts,
        });
      } else if (connection.state === 'failed' || connection.state === 'restarting') {
        note({
          event: 'downstream.failed',
          server: connection.name,
          state: connection.state,
          reason: redactor.redactText(status.lastError ?? 'unknown'),
        });
      }
    },
    onToolDefinitionChanged: (server, tool, before, after) =>
      note({
        event: 'tool.definition_changed',
        server,
        tool,
        ...(before ? { before } : {}),
        ...(after ? { after } : {}),
      }),
  });
  teardown.add(() => pool.stop());
  // The servers' first attempts run while the rest starts (on stdio, while the client's first requests
  // wait at the front): their start-up no longer adds to Gatehouse's own. Awaited before approvals start.
  const poolStarted = pool.start().then(() => {
    // Read before stopping: stopping empties the catalog, and with it the collisions.
    const { collisions } = pool.tools;
    if (collisions.length > 0) {
      throw new GatehouseError(
        'NAME_COLLISION',
        collisions.map((c) => `${config.file}: ${describeCollision('tool', c)}`).join('\n'),
      );
    }
  });
  poolStarted.catch(() => undefined);

  const credentials = createCredentialBroker({
    servers: config.servers,
    settings: config.credentials,
    configDir: path.dirname(config.file),
    vars: config.vars,
    limits: config.policyLimits,
    logger,
  });
  const executor = createExecutor({ pool, events, logger, credentials });
  // Started further down; a stdio Gatehouse may carry on without it (its port taken).
  let http: HttpFront | undefined;
  // A request's page exists only while the listener that serves it does.
  const pageLink = requestPageLinks(() => http && (config.approvals.publicUrl ?? http.url));
  const approvals = createApprovalService({
    store,
    events,
    redact,
    executor: (changed) =>
      createApprovedExecutor({
        store,
        pool,
        executor,
        events,
        trail,
        argumentsDigest: (args) => redact(args).digest,
        decisionPoint: () => policy,
        logger,
        now: () => new Date(),
        changed,
      }),
    retentionMs: config.approvals.resultRetentionMs,
    archiveAfterMs: config.approvals.archiveAfterMs,
    sweepIntervalMs: config.approvals.sweepIntervalMs,
    logger,
    currentTool: (server, tool) => pool.get(server)?.tools.find((t) => t.name === tool),
    pageLink,
  });
  teardown.add(() => approvals.stop());
  // Where approvers and webhook receivers reach this Gatehouse; the listener is known once it listens.
  const baseUrl = () =>
    config.approvals.publicUrl ?? http?.url ?? `http://${config.http.host}:${config.http.port}`;
  const summarizeRequest = (request: ApprovalRequest) => summarize(request, { baseUrl: baseUrl(), redactor });
  const channels = await createChannels(config, {
    store,
    service: approvals,
    baseUrl,
    logger,
    summarize: summarizeRequest,
  });
  teardown.add(() => channels.close());
  const outbox = createOutbox({
    store,
    channels: channels.byName,
    defaultChannels: config.approvals.defaultChannels,
    settings: config.approvals.delivery,
    summarize: summarizeRequest,
    events,
    logger,
  });
  teardown.add(() => outbox.stop());
  // Every change of a request, recorded or not (an execution's end reaches the store after its
  // record), enqueues what it calls for; the reconciliation at start catches what a crash lost.
  events.subscribe(({ event }) => {
    const id = 'approvalId' in event ? event.approvalId : undefined;
    if (id && event.event !== 'approval.delivered' && event.event !== 'approval.refused') outbox.changed(id);
  });
  approvals.onChange((request) => outbox.changed(request.id));
  teardown.add(
    startOutcomeNotices({ approvals, sessions, redactText: (text) => redactor.redactText(text), logger }),
  );
  const deps: FrontDeps = {
    pool,
    approvals,
    executor,
    events,
    redact,
    maxWaitSeconds: config.approvals.maxWaitSeconds,
    aggregate: createAggregate(pool, logger),
    relay,
    sessions,
    decisionPoint: () => policy,
    logger,
    taskLimits: { maxTasks: config.sessions.maxTasksPerSession, maxTtlMs: config.sessions.maxTaskTtlMs },
    otherSubscribers: () => listenHub.subscribers(),
  };
  const modern = createModernFront(deps, listenHub, {
    maxListensPerCaller: config.sessions.maxListensPerCaller,
    inputs,
  });
  // A new policy set may hide, reveal or annotate tools: clients re-read the list.
  const stopWatchingPolicy = policy.onReload(() => {
    relay.onToolsChanged();
    note({ event: 'policy.loaded', ...policy.describe() });
  });
  teardown.add(stopWatchingPolicy);
  const stopWatchingFailures = policy.onReloadFailed((error) =>
    note({ event: 'policy.rejected', version: policy.version, error }),
  );
  teardown.add(stopWatchingFailures);
  const caller = resolveStdioCaller(config.identity);

  const status = (): GatehouseStatus => ({
    version: VERSION,
    pid: process.pid,
    startedAt,
    transport: options.http ? 'http' : 'stdio',
    ...(http && options.http ? { mcpUrl: `${http.url}/mcp` } : {}),
    sessions: {
      open: sessions.size,
      tasks: sessions.tasks(),
      ...(http?.status().sessions ?? { byCaller: {}, expired: 0, closedAtCap: 0, refusedAtCap: 0 }),
    },
    http: { abortedRequests: http?.status().abortedRequests ?? 0 },
    modern: { listens: listenHub.size, calls: inputs.size, waitingForInput: inputs.waiting },
    approvalPage: web.counts(),
    servers: pool.status(),
    policy: policy.status(),
    channels: outbox.status(),
    credentials: { scrubbed: credentialsScrubbedTotal() },
    audit: { dir: trail.dir, ...trail.status(), ...(exporter ? { otlp: exporter.stats() } : {}) },
    problems: [
      ...outbox
        .status()
        .filter((c) => c.lastError)
        .map(
          (c) =>
            `channel ${c.name} is failing: ${c.lastError!.message} (at ${c.lastError!.at}; ` +
            `${c.pending} pending, ${c.failed} given up)`,
        ),
      ...(trail.status().problem ? [trail.status().problem!] : []),
      ...(storeProblem ? [storeProblem] : []),
      ...approvals.problems(),
      ...pool.collisionMessages(),
      ...(policy.status().lastError
        ? [`policy reload failed; the last good set is in use: ${policy.status().lastError}`]
        : []),
    ],
  });

  // On stdio the client is read from here on, and what it sends waits at the gate until the start is
  // done, but for its server/discover probe, answered by timeouts.discoverMs after the process started.
  const stdio = options.http ? undefined : startStdioFront(options, deps, modern, caller, poolStarted);
  if (stdio) teardown.add(() => stdio.transport.close());
  await stdio?.transport.start();
  await poolStarted;
  // Before any client can call: pending requests resume, expired ones are swept, approved-but-not-
  // started ones run once.
  await approvals.start();
  // After the requests are recovered: the outbox reconciles against what recovery left.
  await outbox.start();

  // Built before the listener: a malformed approver password hash refuses the start (exit 2).
  const web = createApprovalWeb({
    service: approvals,
    config,
    logger,
    baseUrl,
    deliveries: (id) => outbox.deliveries(id),
    ...sharedApproverState(store),
  });
  try {
    http = await startHttpFront({
      config,
      deps,
      serveMcp: options.http,
      modern,
      authenticator,
      status,
      logger,
      // Channels first: a signed webhook callback shares its path with the API's decisions.
      routes: async (req, res) => (await channels.routes(req, res)) || web.routes(req, res),
    });
  } catch (error) {
    if (options.http) {
      throw new GatehouseError(
        'LISTEN_FAILED',
        `cannot listen on ${config.http.host}:${config.http.port}: ${(error as Error).message}`,
      );
    }
    // On stdio the MCP session matters more than the status endpoint: carry on without it.
    logger.warn({ reason: (error as Error).message }, 'status endpoint not started');
  }
  teardown.add(() => http?.close());

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  // Started in a later microtask, so that a session closing during the stop (stdio's close calls
  // stop) finds it under way instead of starting a second one.
  const stop = (reason = 'stopped') =>
    (stopping ??= Promise.resolve().then(async () => {
      logger.info({ reason }, 'Gatehouse stopping');
      // In this order, each whatever became of the one before: a store that fails to close must not
      // leave the children running.
      const steps: [string, () => Promise<unknown> | undefined][] = [
        // Subscriptions end gracefully, answered, while their transports are still open.
        ['subscriptions', async () => modern.close()],
        ['client sessions', () => Promise.allSettled(sessions.all().map((s) => s.server.close()))],
        ['the listener', () => http?.close()],
        ['the approval page', () => web.close()],
        // Before the store closes: attempts under way get a few seconds, the rest resume next start.
        ['the channel outbox', () => outbox.stop()],
        ['the channels', () => channels.close()],
        // Executions in flight finish (bounded) and are recorded before their servers go away.
        ['approvals and the store', () => approvals.stop()],
        ['the downstream servers', () => pool.stop()],
        [
          'the policy watcher',
          () => {
            stopWatchingPolicy();
            stopWatchingFailures();
            return policy.close();
          },
        ],
        // Last, so that everything above is on the record; closing signs a final checkpoint.
        [
          'the audit trail',
          async () => {
            await events
              .publish({ event: 'gatehouse.stopped', version: VERSION, pid: process.pid, reason })
              .catch(() => undefined);
            await trail.close();
            await exporter?.close();
          },
        ],
      ];
      for (const [what, step] of steps) {
        await Promise.resolve()
          .then(step)
          .catch((error: unknown) => logger.error({ err: error }, `stopping ${what} failed`));
      }
      resolveStopped();
    }));

  note({
    event: 'gatehouse.started',
    version: VERSION,
    pid: process.pid,
    transport: options.http ? 'http' : 'stdio',
    policyVersion: policy.version,
    servers: [...pool.connections.keys()],
  });
  const ready = () =>
    readyLine({
      ...(options.http ? { mcpUrl: `${http!.url}/mcp` } : {}),
      ...(http ? { approvalPage: `${config.approvals.publicUrl ?? http.url}/approvals` } : {}),
      approvers: policy.approversFor(
        [...pool.connections.values()].flatMap((c) => c.tools.map((t) => ({ server: c.name, tool: t.name }))),
      ),
      canSignIn: web.canSignIn,
      configFile: config.file,
    });
  if (options.http) {
    const { message, fields } = ready();
    logger.info({ ...fields, servers: pool.status().map((s) => `${s.name}:${s.state}`) }, message);
  } else {
    // Made now: a session's capabilities are those of the servers that are up.
    const session = createSession(deps, { ...caller, transport: 'stdio' }, 'stdio');
    sessions.add(session);
    teardown.add(() => session.server.close());
    await session.server.connect(stdio!.transport);
    void stdio!.closed.then(() => stop('the client closed stdin'));
    stdio!.gate.open();
    const { message, fields } = ready();
    logger.info(
      {
        ...fields,
        servers: pool.status().map((s) => `${s.name}:${s.state}`),
        statusUrl: http ? `${http.url}/status` : undefined,
      },
      message,
    );
  }
  return { http, approvals, status, stop, stopped };
}

/**
 * The stdio front, reading from the moment it starts: the gate holds what the client sends while
 * Gatehouse starts (front/startGate.ts), and the legacy session is connected to it at the end of the
 * start. `closed` resolves when the client has gone.
 */
function startStdioFront(
  options: ServeOptions,
  deps: FrontDeps,
  modern: ReturnType<typeof createModernFront>,
  caller: ReturnType<typeof resolveStdioCaller>,
  poolStarted: Promise<void>,
) {
  // Counted from the process's start, as the client that launched it counts.
  const discoverBy = Promise.race([
    poolStarted,
    new Promise<void>((resolve) =>
      setTimeout(resolve, Math.max(0, options.config.timeouts.discoverMs - performance.now())).unref(),
    ),
  ]);
  const gate = new StartGate(new StdioFrontTransport(deps.logger, options.stdin, options.stdout), discoverBy);
  const transport = new EraSplitTransport(gate, modern, { ...caller, transport: 'stdio' });
  const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
  return { gate, transport, closed };
}
