import { randomUUID } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Decision } from '../decision/types.js';
import { GatehouseError, isGatehouseError } from '../errors.js';
import type { EventBus } from '../audit/bus.js';
import { auditCaller, type AuditEvent } from '../audit/events.js';
import type { ApprovedExecutor } from '../execution/approved.js';
import type { RedactedArguments } from '../redact/index.js';
import type { Logger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import type { ApprovalStore, PageRequest, RequestPage } from '../store/store.js';
import { toolDefinitionDigest } from './digest.js';
import type { PageLink } from './pageLink.js';
import { markAbandoned, recoverOnStart, sweepExpired, type Recovery } from './recovery.js';
import { expiryTimer } from './expiryTimer.js';
import { quarantineProblem, type QuarantinedRecord } from './quarantine.js';
import {
  APPROVAL_STATES,
  toolDefinitionOf,
  type ApprovalRequest,
  type ApprovalState,
  type ToolDefinition,
} from './request.js';
import {
  applyDecision,
  asOf,
  blockExecution,
  cancel,
  canTransition,
  isOpen,
  NOT_PENDING,
  newApprovalRequest,
  type DecisionInput,
} from './states.js';

/**
 * What channels (the approval page and API, Teams, webhooks) and the pipeline use to work with approval
 * requests. Every method validates and refuses with typed GatehouseErrors; a decision resolves only
 * after it is durable in the store. Requests are read as the clock makes them (`asOf`): one past its
 * expiry reads `expired` at once, whether or not the sweep has written that yet.
 */
export interface ApprovalService {
  list(filter?: { states?: readonly ApprovalState[] }): Promise<ApprovalRequest[]>;
  /**
   * A page of `list`, the latest created first (ApprovalStore.listPage). A request whose state as of
   * now is not asked for is left out, so a page may hold fewer than `limit` with more to follow.
   */
  listPage(filter: { states?: readonly ApprovalState[] }, page: PageRequest): Promise<RequestPage>;
  /**
   * The `limit` requests past pending (decided, running or ended) that changed last, the latest
   * first: the page's "recent", read without reading every request the store keeps.
   */
  recentlyChanged(limit: number): Promise<ApprovalRequest[]>;
  get(id: string): Promise<ApprovalRequest | undefined>;
  /**
   * One approver's decision, as authenticated by the channel that carried it. The decision that
   * completes the quorum starts the execution of the stored, approved arguments right away.
   */
  decide(id: string, input: DecisionInput): Promise<ApprovalRequest>;
  /** Records the store found altered or corrupt: never executed, shown until an operator removes them. */
  quarantined(): Promise<QuarantinedRecord[]>;
  /** The tool as its server lists it now, when Gatehouse knows it (to show approvers what changed). */
  currentToolDefinition?(server: string, tool: string): ToolDefinition | undefined;
  /** Called after every durable change of any request (created, decided, executing, finished, expired). */
  onChange(listener: (request: ApprovalRequest) => void): () => void;
}

/** What the pipeline needs beyond the channels' view. */
export interface ApprovalRuntime extends ApprovalService {
  /** How long identical retries keep getting a finished request's outcome. */
  readonly retentionMs: number;
  /** Where a request's page is, for the requester and the log; absent: not said. */
  readonly pageLink?: (id: string) => PageLink;
  /** Create the request for a gated call, or join the identical one (same digest) that exists. */
  requestFor(
    call: ToolCall,
    decision: Decision,
    args: RedactedArguments,
  ): Promise<{ request: ApprovalRequest; created: boolean }>;
  /** Withdraw a request that has not started executing. */
  cancel(id: string, reason: string): Promise<ApprovalRequest>;
  /** Resolves when the request leaves `from`'s states, or at the deadline, or on abort; with its latest state. */
  waitWhile(
    id: string,
    states: readonly ApprovalState[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ApprovalRequest | undefined>;
  /** Restore what a previous process left, then sweep expiries periodically. */
  start(): Promise<Recovery>;
  /** What an operator must look at (quarantined records), for `status`; known once started. */
  problems(): string[];
  stop(): Promise<void>;
}

export interface ApprovalServiceDeps {
  store: ApprovalStore;
  executor: (changed: Changed) => ApprovedExecutor;
  /** Where every change is recorded (awaited, failing closed) and announced. */
  events: EventBus;
  /** Redacted arguments and their keyed digest, as records show them. */
  redact: (args: Record<string, unknown>) => RedactedArguments;
  retentionMs: number;
  /** Finished requests older than this leave the live store for its archive (never before `retentionMs`). */
  archiveAfterMs: number;
  sweepIntervalMs: number;
  logger: Logger;
  now?: () => Date;
  /** A downstream tool as Gatehouse last listed it. */
  currentTool?: (server: string, tool: string) => Tool | undefined;
  /** Where a request's page is (approvals.publicUrl or the listener), or why there is none. */
  pageLink?: (id: string) => PageLink;
}

/**
 * A durable change of a request: its event goes to the audit trail (awaited: a change that cannot be
 * recorded throws), then the request to waiters, tasks and channels. Without an event (the executor
 * records its own) only the latter.
 */
export type Changed = (request: ApprovalRequest, event?: AuditEvent) => Promise<void>;

/** How long a stopping Gatehouse waits for approved calls under way. */
const DRAIN_MS = 10_000;

/**
 * The store filter for requests that read as one of `states` now: for `expired`, any stored state that
 * can expire too. Every state when `states` is absent.
 */
function storedFilter(states: readonly ApprovalState[] | undefined): { states?: ApprovalState[] } {
  if (!states) return {};
  if (!states.includes('expired')) return { states: [...states] };
  return {
    states: APPROVAL_STATES.filter((state) => states.includes(state) || canTransition(state, 'expired')),
  };
}

export function createApprovalService(deps: ApprovalServiceDeps): ApprovalRuntime {
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ module: 'approvals' });
  const listeners = new Set<(request: ApprovalRequest) => void>();
  const notify = (request: ApprovalRequest) => {
    for (const listener of listeners) {
      try {
        listener(request);
      } catch (error) {
        log.error({ err: error }, 'approval change listener failed');
      }
    }
  };
  // Every event about a request reaches the request's listeners, whoever published it.
  deps.events.subscribe(({ request }) => request && notify(request));
  const changed: Changed = async (request, event) => {
    if (event) await deps.events.publish(event, request);
    else notify(request);
  };
  /** For changes whose record nobody waits on (expiry, recovery): a failure is logged, not thrown. */
  const announce = (request: ApprovalRequest, event: AuditEvent) =>
    changed(request, event).catch((error: unknown) =>
      log.error({ approvalId: request.id, event: event.event, reason: String(error) }, 'not recorded'),
    );
  const executor = deps.executor(changed);
  let sweeper: NodeJS.Timeout | undefined;
  /** The housekeeping run under way, if one is: the next is scheduled only once it has ended. */
  let housekeepingRun: Promise<void> | undefined;
  let stopped = false;
  /** The expiry sweep under way, if one is: the expiry timer and housekeeping share it. */
  let sweeping: Promise<void> | undefined;
  let stopWatching: (() => void) | undefined;
  const view = (request: ApprovalRequest) => asOf(request, now());
  let problems: string[] = [];
  const expiries = expiryTimer(now, () =>
    expireDue().catch((error: unknown) => log.error({ err: error }, 'approval expiry failed')),
  );

  function onChange(listener: (request: ApprovalRequest) => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  async function requestFor(call: ToolCall, decision: Decision, args: RedactedArguments) {
    const approval = decision.approval;
    if (!approval) throw new GatehouseError('INTERNAL', 'an approve decision without approval requirements');
    const definition = toolDefinitionOf(call.definition);
    const candidate = newApprovalRequest(
      {
        id: randomUUID(),
        server: call.server,
        tool: call.tool,
        exposedName: call.exposedName,
        toolDefinitionDigest: toolDefinitionDigest(definition),
        toolDefinition: definition,
        arguments: call.arguments,
        caller: call.caller,
        reason: decision.reason,
        requirements: approval.requirements,
        ttlMs: approval.ttlMs,
        ...(approval.channels ? { channels: approval.channels } : {}),
        policyVersion: decision.policyVersion,
      },
      now(),
    );
    const found = await deps.store.findByDigest(candidate.digest);
    const existing = found && (await persistExpiry(found));
    // An open request is joined; a finished one (an expired one too) answers identical retries for a while.
    if (existing && (isOpen(existing.state) || withinRetention(existing))) {
      return { request: existing, created: false };
    }
    const changedSince = await earlierWithOtherDefinition(candidate);
    const result = await deps.store.create(
      changedSince ? { ...candidate, definitionChangedSince: changedSince } : candidate,
    );
    if (result.created) {
      log.info(
        {
          approvalId: result.request.id,
          server: call.server,
          tool: call.tool,
          caller: call.caller.id,
          rules: result.request.rules,
          ...pageFields(deps.pageLink?.(result.request.id)),
        },
        'approval requested',
      );
      try {
        await changed(result.request, requested(result.request, call, decision, args));
      } catch (error) {
        // A request the trail does not know of must not be approved and run: withdraw it.
        await deps.store
          .transition(result.request.id, 'pending', (r) =>
            cancel(r, 'the audit trail could not record it', now()),
          )
          .catch(() => undefined);
        throw error;
      }
      expiries.due(result.request.expiresAt);
    }
    return { created: result.created, request: view(result.request) };
  }

  /**
   * The requester's latest earlier request for this same call (server, tool, arguments) that was made
   * against another definition of the tool: the reason a retry is a new request, which its result and
   * the page then say, rather than leave the requester to think it joined the earlier one.
   */
  async function earlierWithOtherDefinition(
    candidate: ApprovalRequest,
  ): Promise<ApprovalRequest['definitionChangedSince']> {
    const earlier = await deps.store.latestWithOtherDefinition(candidate);
    if (!earlier) return undefined;
    return {
      id: earlier.id,
      state: view(earlier).state,
      ...(earlier.toolDefinition ? { toolDefinition: earlier.toolDefinition } : {}),
    };
  }

  /**
   * The request as the clock makes it, written to the store when that differs from what is stored: a
   * new request must not join an expired one the sweep has not reached yet.
   */
  async function persistExpiry(request: ApprovalRequest): Promise<ApprovalRequest> {
    const current = view(request);
    if (current.state === request.state) return request;
    const result = await deps.store.transition(request.id, request.state, (r) => asOf(r, now()));
    if (result.ok) await announce(result.request, expired(result.request));
    return view(result.request);
  }

  /**
   * Persists every expiry that is due, tells listeners (waiters, tasks), and waits for the next one;
   * one sweep at a time (a call while one runs joins it: an expiry it missed is due at once after it).
   */
  function expireDue(): Promise<void> {
    sweeping ??= (async () => {
      for (const id of await sweepExpired(deps.store, now())) {
        const request = await deps.store.get(id);
        if (request) await announce(request, expired(request));
      }
      const next = await deps.store.nextExpiry();
      if (next) expiries.due(next.toISOString());
    })().finally(() => {
      sweeping = undefined;
    });
    return sweeping;
  }

  /** A finished request keeps answering identical retries for a while, so the model gets its outcome. */
  function withinRetention(request: ApprovalRequest): boolean {
    const ended = request.execution?.finishedAt ?? request.closed?.at;
    return ended !== undefined && now().getTime() - Date.parse(ended) < deps.retentionMs;
  }

  async function decide(id: string, input: DecisionInput): Promise<ApprovalRequest> {
    let current = await deps.store.get(id);
    if (!current) throw await missing(deps.store, id);
    // Compare-and-set: when another decision lands first, decide again on what it left. The state
    // machine refuses (typed) once the request is no longer pending.
    let result;
    try {
      result = await deps.store.transition(id, current.state, (r) => applyDecision(r, input, now()));
      while (!result.ok) {
        current = result.request;
        result = await deps.store.transition(id, current.state, (r) => applyDecision(r, input, now()));
      }
    } catch (error) {
      await recordRefusal(id, input, error);
      throw error;
    }
    const request = result.request;
    log.info(
      { approvalId: id, approver: input.approver.id, decision: input.decision, state: request.state },
      'approval decision recorded',
    );
    const decision = request.decisions.at(-1)!;
    try {
      await changed(request, {
        event: 'approval.decided',
        approvalId: id,
        approver: { id: decision.approver.id, groups: [...decision.approver.groups] },
        verdict: decision.decision,
        at: decision.at,
        channel: decision.channel ?? 'unknown',
        ...(decision.reason ? { reason: decision.reason } : {}),
        state: request.state,
      });
    } catch (error) {
      // The decision is in the store but not in the trail: an approved call must not run unrecorded.
      if (request.state === 'approved') {
        const blocked = {
          code: 'AUDIT_LOG_UNAVAILABLE',
          message: 'the audit trail could not record the approval',
        };
        await deps.store
          .transition(id, 'approved', (r) => blockExecution(r, blocked, now()))
          .then((r) => r.ok && notify(r.request))
          .catch(() => undefined);
      }
      throw error;
    }
    if (request.state === 'approved') execute(request);
    return request;
  }

  /** Runs an approved request in the background: a failure is logged, never left an unhandled rejection. */
  function execute(request: ApprovalRequest): void {
    executor
      .execute(request)
      .catch((error: unknown) => log.error({ err: error, approvalId: request.id }, 'execution failed'));
  }

  async function cancelRequest(id: string, reason: string): Promise<ApprovalRequest> {
    const stored = await deps.store.get(id);
    if (!stored) throw new GatehouseError('APPROVAL_NOT_FOUND', `no approval request ${id}`, { id });
    // An expired request stays expired: cancelling it now would rewrite why it ended.
    const current = await persistExpiry(stored);
    if (current.state !== 'pending' && current.state !== 'approved') return current;
    const result = await deps.store.transition(id, current.state, (r) => {
      const latest = asOf(r, now());
      return latest.state === 'expired' ? latest : cancel(latest, reason, now());
    });
    if (result.ok) {
      log.info({ approvalId: id, reason }, 'approval request cancelled');
      await announce(
        result.request,
        result.request.state === 'expired'
          ? expired(result.request)
          : { event: 'approval.cancelled', approvalId: id, reason },
      );
    }
    return result.request;
  }

  function waitWhile(id: string, states: readonly ApprovalState[], timeoutMs: number, signal?: AbortSignal) {
    return new Promise<ApprovalRequest | undefined>((resolve) => {
      let done = false;
      const finish = async () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', finish);
        resolve(await get(id));
      };
      const unsubscribe = onChange((request) => {
        if (request.id === id && !states.includes(request.state)) void finish();
      });
      const timer = setTimeout(() => void finish(), timeoutMs);
      signal?.addEventListener('abort', finish, { once: true });
      if (signal?.aborted) void finish();
      // The change may have happened before we subscribed.
      void get(id).then((request) => {
        if (!request || !states.includes(request.state)) void finish();
      });
    });
  }

  async function announceUnknown(ids: readonly string[], found: string): Promise<void> {
    for (const id of ids) {
      const request = await deps.store.get(id);
      if (!request) continue;
      await announce(request, {
        event: 'call.unknown',
        approvalId: id,
        server: request.server,
        tool: request.tool,
        reason: `${found}: it may or may not have run, and is not run again`,
      });
    }
  }

  async function housekeeping(): Promise<void> {
    await expireDue();
    // A replica that died while executing (a shared store): its claims lapsed, nobody holds them.
    await announceUnknown(await markAbandoned(deps.store, now()), 'its replica stopped while executing it');
    // Approved calls whose server was not ready when they were approved.
    for (const request of await deps.store.list({ states: ['approved'] })) execute(request);
    // A retry must still find the outcome it is owed, so nothing leaves before retentionMs.
    const keepMs = Math.max(deps.archiveAfterMs, deps.retentionMs);
    const archived = await deps.store.archiveFinished(new Date(now().getTime() - keepMs));
    if (archived.length > 0) {
      log.info(
        { count: archived.length, ids: archived.map((r) => r.id) },
        'finished approval requests archived',
      );
    }
  }

  async function start(): Promise<Recovery> {
    const quarantined = await deps.store.quarantined();
    for (const record of quarantined) {
      log.error({ approvalId: record.id, problem: record.problem }, quarantineProblem(record));
    }
    problems = quarantined.map(quarantineProblem);
    for (const record of quarantined) {
      await deps.events
        .publish({ event: 'approval.quarantined', approvalId: record.id, reason: quarantineProblem(record) })
        .catch((error: unknown) => log.error({ reason: String(error) }, 'quarantine not recorded'));
    }
    const recovery = await recoverOnStart(deps.store, now());
    await announceUnknown(recovery.unknown, 'found executing after a restart');
    // Changes other replicas make reach this one's waiters, tasks and channels too.
    stopWatching = deps.store.watch?.(notify);
    for (const id of recovery.expired) {
      const request = await deps.store.get(id);
      if (request) await announce(request, expired(request));
    }
    log.info(
      {
        pending: recovery.pending.length,
        toExecute: recovery.toExecute.length,
        unknown: recovery.unknown,
        expired: recovery.expired.length,
      },
      'approval store recovered',
    );
    for (const request of recovery.toExecute) execute(request);
    for (const request of [...recovery.pending, ...recovery.toExecute]) expiries.due(request.expiresAt);
    scheduleHousekeeping();
    return recovery;
  }

  /**
   * The next housekeeping run, sweepIntervalMs after the previous one ended: a run that takes longer
   * than the interval (a large store, a slow database) is never overlapped by the next.
   */
  function scheduleHousekeeping(): void {
    if (stopped) return;
    sweeper = setTimeout(() => {
      housekeepingRun = housekeeping()
        .catch((error: unknown) => log.error({ err: error }, 'approval housekeeping failed'))
        .finally(() => {
          housekeepingRun = undefined;
          scheduleHousekeeping();
        });
    }, deps.sweepIntervalMs);
    sweeper.unref();
  }

  async function stop(): Promise<void> {
    stopped = true;
    clearTimeout(sweeper);
    stopWatching?.();
    expiries.stop();
    // A run under way finishes before the store closes under it (its failure is logged already).
    await housekeepingRun;
    await sweeping?.catch(() => undefined);
    // What is still executing after this is found `executing` on the next start and becomes `unknown`.
    await executor.drain(DRAIN_MS);
    await deps.store.close();
  }

  /** A decision that did not count is evidence too (a self-approval, an approver not listed, too late). */
  async function recordRefusal(id: string, input: DecisionInput, error: unknown): Promise<void> {
    if (!isGatehouseError(error)) return;
    await deps.events
      .publish({
        event: 'approval.refused',
        approvalId: id,
        approver: { id: input.approver.id, groups: [...input.approver.groups] },
        verdict: input.decision,
        channel: input.channel ?? 'unknown',
        code: error.code,
        message: error.message,
      })
      .catch((failure: unknown) => log.error({ reason: String(failure) }, 'refusal not recorded'));
  }

  async function get(id: string): Promise<ApprovalRequest | undefined> {
    const request = await deps.store.get(id);
    return request && view(request);
  }

  /**
   * The filter applies to the state as of now: `pending` never lists a request past its expiry, and
   * `expired` lists one the expiry sweep has not written yet. Only the stored states that can be
   * those now are read.
   */
  async function list(filter: { states?: readonly ApprovalState[] } = {}): Promise<ApprovalRequest[]> {
    return currentlyIn(filter.states, await deps.store.list(storedFilter(filter.states)));
  }

  async function listPage(
    filter: { states?: readonly ApprovalState[] },
    page: PageRequest,
  ): Promise<RequestPage> {
    const stored = await deps.store.listPage(storedFilter(filter.states), page);
    return { ...stored, requests: currentlyIn(filter.states, stored.requests) };
  }

  /** As read now, those in `states` (all when absent). */
  function currentlyIn(states: readonly ApprovalState[] | undefined, stored: ApprovalRequest[]) {
    const requests = stored.map(view);
    return states ? requests.filter((r) => states.includes(r.state)) : requests;
  }

  async function recentlyChanged(limit: number): Promise<ApprovalRequest[]> {
    return (await deps.store.latestChanged(NOT_PENDING, limit)).map(view);
  }

  return {
    retentionMs: deps.retentionMs,
    ...(deps.pageLink ? { pageLink: deps.pageLink } : {}),
    list,
    listPage,
    recentlyChanged,
    get,
    decide,
    quarantined: () => deps.store.quarantined(),
    currentToolDefinition: (server, tool) => {
      const listed = deps.currentTool?.(server, tool);
      return listed && toolDefinitionOf(listed);
    },
    problems: () => problems,
    onChange,
    requestFor,
    cancel: cancelRequest,
    waitWhile,
    start,
    stop,
  };
}

/** Why `store` has no request `id` to decide on: there is none, or it is quarantined. */
export async function missing(store: ApprovalStore, id: string): Promise<GatehouseError> {
  const quarantined = (await store.quarantined()).find((q) => q.id === id);
  if (!quarantined) return new GatehouseError('APPROVAL_NOT_FOUND', `no approval request ${id}`, { id });
  return new GatehouseError('APPROVAL_QUARANTINED', quarantineProblem(quarantined), {
    id,
    problem: quarantined.problem.code,
  });
}

/** The log's view of a page link: its url, or why there is no page. */
function pageFields(link: PageLink | undefined): { url?: string; page?: string } {
  if (!link) return {};
  return 'url' in link ? { url: link.url } : { page: link.unavailable };
}

function expired(request: ApprovalRequest): AuditEvent {
  return { event: 'approval.expired', approvalId: request.id, expiresAt: request.expiresAt };
}

function requested(
  request: ApprovalRequest,
  call: ToolCall,
  decision: Decision,
  args: RedactedArguments,
): AuditEvent {
  return {
    event: 'approval.requested',
    approvalId: request.id,
    callId: call.requestId,
    caller: auditCaller(call.caller),
    server: call.server,
    tool: call.tool,
    exposedName: call.exposedName,
    digest: request.digest,
    toolDefinitionDigest: request.toolDefinitionDigest,
    rules: request.rules,
    reason: request.reason,
    policyVersion: decision.policyVersion,
    approvers: request.approvers,
    quorum: request.quorum,
    expiresAt: request.expiresAt,
    arguments: args,
  };
}
