import { randomUUID } from 'node:crypto';
import type { EventBus } from '../../audit/bus.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { coalesced } from '../../shared/coalesced.js';
import type { ApprovalStore, ClaimedDelivery, NewDelivery } from '../../store/store.js';
import type { ApprovalRequest } from '../request.js';
import { isOpen } from '../states.js';
import { ChannelDeliveryError, type Channel, type ChannelMessage } from './channel.js';
import type { DeliverySettings } from './config.js';
import { eventOf, stagesOf, type DeliveryRecord } from './delivery.js';
import type { ApprovalSummary } from './summary.js';

/**
 * The durable outbox between approval requests and channels. A change of a request (from the event
 * bus, or a store change without an event) enqueues the deliveries it calls for, keyed so that the same
 * change enqueued twice is one delivery; at start every request is reconciled, so a crash between a
 * change and its enqueue loses nothing. A worker claims due deliveries from the store (a lease, so two
 * workers never hold one), renders the request's summary as it is now, and hands it to the channel,
 * off the tool call's path. An acknowledged delivery is marked delivered before anything else happens,
 * so it is never sent again; one that fails is retried with exponential backoff and jitter (Retry-After
 * honoured), until `maxAttempts`, then given up as failed: visible on the page, in status and in the
 * log. Either outcome is recorded as approval.delivered. Delivering never decides anything: a channel
 * that fails leaves the request as it is.
 */

export interface OutboxOptions {
  store: ApprovalStore;
  /** The delivering channels by instance name (the page is not one). */
  channels: ReadonlyMap<string, Channel>;
  /** The channels of a request whose rule names none. */
  defaultChannels: readonly string[];
  settings: DeliverySettings;
  /** The request as channels show it (base URL and redaction bound). */
  summarize: (request: ApprovalRequest) => ApprovalSummary;
  /** Where approval.delivered is recorded. */
  events: Pick<EventBus, 'publish'>;
  logger: Logger;
  now?: () => Date;
  /** In [0, 1): the jitter of backoffs. */
  random?: () => number;
}

/** One channel's deliveries, for status and the page. */
export interface ChannelDeliveryStatus {
  name: string;
  type: Channel['type'];
  pending: number;
  failed: number;
  delivered: number;
  /** The latest failed attempt's error and when, if a later attempt has not succeeded since. */
  lastError?: { at: string; message: string };
  lastDeliveredAt?: string;
}

export interface Outbox {
  /** Enqueues what the request's stored state calls for; resolves once it is durable. */
  enqueue(approvalId: string): Promise<void>;
  /** Notes a changed request; enqueued soon, in the background (for event subscribers). */
  changed(approvalId: string): void;
  /**
   * Every open request's deliveries, and the missing updates of finished requests that were announced
   * on a channel; returns how many deliveries were added.
   */
  reconcile(): Promise<number>;
  /** Reconciles, then delivers until stopped. */
  start(): Promise<void>;
  /**
   * Stops claiming; attempts under way get `graceMs` to finish, then are aborted and left due again
   * (the next start resumes them). Resolves once nothing of the outbox touches the store any more.
   */
  stop(graceMs?: number): Promise<void>;
  /** Per channel, as of the last change the outbox made or saw. */
  status(): ChannelDeliveryStatus[];
  /** A request's deliveries, in order. */
  deliveries(approvalId: string): Promise<DeliveryRecord[]>;
}

/** A lease outlives an attempt's time limit by this much, so a slow settle never loses it. */
const LEASE_MARGIN_MS = 30_000;
/** How long aborted attempts get to record that they were interrupted, at shutdown. */
const ABORT_GRACE_MS = 1_000;
/** Node's timers take at most this many milliseconds. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createOutbox(options: OutboxOptions): Outbox {
  const { store, channels, settings } = options;
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const log = options.logger.child({ module: 'outbox' });
  // Each process's claims are its own: a restarted Gatehouse never takes over a live one's.
  const owner = `outbox-${randomUUID()}`;
  const leaseMs = settings.timeoutMs + LEASE_MARGIN_MS;
  const inFlight = new Map<string, { done: Promise<void>; abort: AbortController }>();
  const dirty = new Set<string>();
  let flushing: Promise<void> | undefined;
  let running = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let pumping: Promise<void> | undefined;
  let pumpAgain = false;
  let counts: ChannelDeliveryStatus[] = [];

  const channelsOf = (request: ApprovalRequest) =>
    (request.channels ?? options.defaultChannels).filter((name) => channels.has(name));

  /** What the request's stored state calls for on `only` (default: its channels), as new deliveries. */
  function wanted(request: ApprovalRequest, only?: readonly string[]): NewDelivery[] {
    const out: NewDelivery[] = [];
    for (const name of only ?? channelsOf(request)) {
      const channel = channels.get(name)!;
      for (const stage of stagesOf(request)) {
        if (channel.wants && !channel.wants(eventOf(stage, request))) continue;
        out.push({ approvalId: request.id, channel: name, stage });
      }
    }
    return out;
  }

  async function add(deliveries: NewDelivery[]): Promise<number> {
    if (deliveries.length === 0) return 0;
    const added = await store.enqueueDeliveries(deliveries, now());
    if (added.length > 0) {
      log.debug({ deliveries: added.map((d) => d.id) }, 'deliveries enqueued');
      wake();
    }
    return added.length;
  }

  async function enqueue(approvalId: string): Promise<void> {
    const request = await store.get(approvalId);
    if (request) await add(wanted(request));
  }

  function changed(approvalId: string): void {
    if (stopped) return;
    dirty.add(approvalId);
    flushing ??= Promise.resolve().then(async () => {
      while (dirty.size > 0 && !stopped) {
        const [id] = dirty;
        dirty.delete(id!);
        await enqueue(id!).catch((error: unknown) =>
          log.error(
            { approvalId: id, reason: describeError(error) },
            'deliveries not enqueued; the next start adds them',
          ),
        );
      }
      flushing = undefined;
    });
  }

  async function reconcile(): Promise<number> {
    const announced = new Map<string, Set<string>>();
    for (const d of await store.listDeliveries()) {
      const seen = announced.get(d.approvalId) ?? new Set<string>();
      seen.add(d.channel);
      announced.set(d.approvalId, seen);
    }
    const wantedAll: NewDelivery[] = [];
    for (const request of await store.list()) {
      // A finished request is owed its updates only where it was announced: a store that predates a
      // channel must not flood it with requests it never heard of.
      const only = isOpen(request.state)
        ? undefined
        : channelsOf(request).filter((name) => announced.get(request.id)?.has(name));
      wantedAll.push(...wanted(request, only));
    }
    const added = await add(wantedAll);
    if (added > 0) log.info({ added }, 'outbox reconciled: deliveries a crash left unqueued were added');
    refresh.wake();
    await refresh.idle();
    return added;
  }

  /** Claims what is due, as far as concurrency allows; runs again when asked while it ran. */
  function pump(): Promise<void> {
    if (pumping) {
      pumpAgain = true;
      return pumping;
    }
    pumping = (async () => {
      do {
        pumpAgain = false;
        if (!running) break;
        const free = settings.concurrency - inFlight.size;
        if (free <= 0) break;
        let claimed: ClaimedDelivery[];
        try {
          claimed = await store.claimDeliveries(owner, now(), leaseMs, free);
        } catch (error) {
          log.error({ reason: describeError(error) }, 'cannot claim deliveries');
          break;
        }
        for (const item of claimed) attempt(item);
        // A claim that filled every free slot may have left more that is due now: the end of an
        // attempt claims again, and schedules then. Only a claim short of work needs to know when more
        // falls due.
        if (claimed.length >= free) continue;
        await scheduleNext().catch((error: unknown) =>
          log.error({ reason: describeError(error) }, 'cannot schedule the next delivery'),
        );
      } while (pumpAgain);
    })().finally(() => {
      pumping = undefined;
    });
    return pumping;
  }

  function wake(): void {
    if (running) void pump();
  }

  /**
   * Wakes the worker when the earliest pending delivery falls due, as the store finds it (one under
   * way here is leased, so it counts at its lease's end; its end wakes the worker sooner anyway).
   */
  async function scheduleNext(): Promise<void> {
    clearTimeout(timer);
    if (!running) return;
    const due = await store.nextDeliveryDue();
    if (!due || !running) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, due.getTime() - now().getTime()));
    clearTimeout(timer);
    timer = setTimeout(() => void pump(), wait);
    timer.unref();
  }

  function attempt({ delivery, memo }: ClaimedDelivery): void {
    const abort = new AbortController();
    const done = run(delivery, memo, abort)
      .catch((error: unknown) =>
        log.error(
          { deliveryId: delivery.id, reason: describeError(error) },
          'delivery attempt failed unexpectedly',
        ),
      )
      .finally(() => {
        inFlight.delete(delivery.id);
        refresh.wake();
        wake();
      });
    inFlight.set(delivery.id, { done, abort });
  }

  async function run(
    delivery: DeliveryRecord,
    memo: Record<string, string> | undefined,
    abort: AbortController,
  ) {
    const context = { deliveryId: delivery.id, approvalId: delivery.approvalId, channel: delivery.channel };
    const channel = channels.get(delivery.channel);
    const request = await store.get(delivery.approvalId);
    if (!channel || !request) {
      const error = !channel
        ? `channel "${delivery.channel}" is no longer configured`
        : 'the request is no longer in the store (archived or set aside)';
      return giveUp(delivery, error, context);
    }
    let message: ChannelMessage;
    try {
      message = {
        deliveryId: delivery.id,
        kind: delivery.stage === 'requested' ? 'announce' : 'update',
        event: eventOf(delivery.stage, request),
        summary: options.summarize(request),
        ...(memo ? { memo } : {}),
        attempt: delivery.attempts + 1,
      };
    } catch (error) {
      // What cannot be rendered now will not render on a retry either.
      return giveUp(delivery, `cannot render the request: ${describeError(error)}`, context);
    }
    const limit = setTimeout(
      () =>
        abort.abort(
          new ChannelDeliveryError(`no answer within ${settings.timeoutMs} ms`, { retryable: true }),
        ),
      settings.timeoutMs,
    );
    let outcome;
    try {
      outcome = await channel.deliver(message, abort.signal);
    } catch (error) {
      clearTimeout(limit);
      return failed(delivery, error, abort.signal, context);
    }
    clearTimeout(limit);
    // Acknowledged: on the record as delivered before anything else, so it is never sent again.
    await store.settleDelivery(delivery.id, owner, {
      result: 'delivered',
      at: now(),
      ...(outcome.memo ? { memo: outcome.memo } : {}),
      ...(outcome.target ? { target: outcome.target } : {}),
    });
    log.info(
      { ...context, stage: delivery.stage, target: outcome.target, attempt: message.attempt },
      'delivered',
    );
    await record(delivery, true, outcome.target);
  }

  async function failed(
    delivery: DeliveryRecord,
    error: unknown,
    signal: AbortSignal,
    context: Record<string, unknown>,
  ): Promise<void> {
    const reason = signal.aborted && signal.reason instanceof Error ? signal.reason : error;
    const known = reason instanceof ChannelDeliveryError ? reason : undefined;
    const message = describeError(reason);
    const target = known?.target;
    const attempts = delivery.attempts + 1;
    // Stopping is no verdict on the channel: the attempt is due again at the next start.
    if (stopped && signal.aborted) {
      await store.settleDelivery(delivery.id, owner, {
        result: 'retry',
        at: now(),
        error: `interrupted by shutdown: ${message}`,
        nextAttemptAt: now(),
        ...(target ? { target } : {}),
      });
      return;
    }
    const retryable = known ? known.retryable : true;
    if (!retryable || attempts >= settings.maxAttempts) {
      const why = retryable ? `gave up after ${attempts} attempts: ${message}` : `not retried: ${message}`;
      return giveUp(delivery, why, context, target);
    }
    const waitMs = backoff(attempts, known?.retryAfterMs);
    const nextAttemptAt = new Date(now().getTime() + waitMs);
    await store.settleDelivery(delivery.id, owner, {
      result: 'retry',
      at: now(),
      error: message,
      nextAttemptAt,
      ...(target ? { target } : {}),
    });
    log.warn(
      { ...context, stage: delivery.stage, attempt: attempts, retryInMs: waitMs, reason: message },
      'delivery failed; will retry',
    );
  }

  async function giveUp(
    delivery: DeliveryRecord,
    error: string,
    context: Record<string, unknown>,
    target?: string,
  ): Promise<void> {
    await store.settleDelivery(delivery.id, owner, {
      result: 'failed',
      at: now(),
      error,
      ...(target ? { target } : {}),
    });
    log.error({ ...context, stage: delivery.stage, reason: error }, 'delivery failed for good');
    await record(delivery, false, target, `${delivery.stage}: ${error}`);
  }

  /** The audit trail's approval.delivered; a failure to record is logged, the delivery stands. */
  async function record(
    delivery: DeliveryRecord,
    ok: boolean,
    target?: string,
    error?: string,
  ): Promise<void> {
    await options.events
      .publish({
        event: 'approval.delivered',
        approvalId: delivery.approvalId,
        channel: delivery.channel,
        ok,
        ...(target ? { target } : {}),
        ...(error ? { error } : {}),
      })
      .catch((failure: unknown) =>
        log.error(
          { deliveryId: delivery.id, reason: describeError(failure) },
          'approval.delivered not recorded',
        ),
      );
  }

  /**
   * Exponential from initialBackoffMs, with equal jitter (half fixed, half random) so receivers that
   * came back are not hit by every sender at once, up to maxBackoffMs; a receiver's Retry-After
   * replaces it, up to maxRetryAfterMs.
   */
  function backoff(attempts: number, retryAfterMs: number | undefined): number {
    if (retryAfterMs !== undefined) return Math.min(settings.maxRetryAfterMs, retryAfterMs);
    const base = Math.min(settings.maxBackoffMs, settings.initialBackoffMs * 2 ** (attempts - 1));
    return Math.round(base / 2 + random() * (base / 2));
  }

  /**
   * The status counts, as the store counts them; after every attempt, so a burst of attempts that end
   * while a count runs makes one more count, not one each. A failed count leaves the last one.
   */
  const refresh = coalesced(
    async () => {
      const counted = new Map((await store.deliveryCounts()).map((c) => [c.channel, c]));
      counts = [...channels.values()].map((channel) => {
        const c = counted.get(channel.name);
        const failure = c?.lastFailure;
        const failing = failure && (!c.lastDeliveredAt || failure.at > c.lastDeliveredAt);
        return {
          name: channel.name,
          type: channel.type,
          pending: c?.pending ?? 0,
          failed: c?.failed ?? 0,
          delivered: c?.delivered ?? 0,
          ...(failing ? { lastError: failure } : {}),
          ...(c?.lastDeliveredAt ? { lastDeliveredAt: c.lastDeliveredAt } : {}),
        };
      });
    },
    () => undefined,
  );

  return {
    enqueue,
    changed,
    reconcile,
    async start() {
      if (channels.size === 0) return;
      await reconcile();
      running = true;
      void pump();
    },
    async stop(graceMs = 5_000) {
      stopped = true;
      running = false;
      clearTimeout(timer);
      await flushing;
      await pumping;
      const attempts = [...inFlight.values()];
      if (attempts.length > 0) {
        let grace: NodeJS.Timeout | undefined;
        const expired = new Promise<void>((resolve) => (grace = setTimeout(resolve, graceMs)));
        await Promise.race([Promise.all(attempts.map((a) => a.done)), expired]);
        clearTimeout(grace);
        for (const a of attempts)
          a.abort.abort(new ChannelDeliveryError('Gatehouse is stopping', { retryable: true }));
        // A channel that ignores its signal must not hold the shutdown: its lease lapses instead.
        const settled = new Promise<void>((resolve) => (grace = setTimeout(resolve, ABORT_GRACE_MS)));
        await Promise.race([Promise.all(attempts.map((a) => a.done)), settled]);
        clearTimeout(grace);
      }
      await refresh.idle();
    },
    status: () => counts,
    deliveries: (approvalId) => store.listDeliveries({ approvalId }),
  };
}
