import type { ApprovalRequest } from '../approvals/request.js';
import type { Logger } from '../log.js';
import type { Redactor } from '../redact/index.js';
import { REDACTED_WHEN_BUILT, type AuditEvent } from './events.js';
import type { Appended } from './log.js';
import { auditUnavailable, type AuditTrail } from './trail.js';

/** What subscribers receive: the event, where the trail put it, and the request it is about, if any. */
export interface Published {
  event: AuditEvent;
  /** Absent for events the log does not append, and for queued (group-committed) ones. */
  appended?: Appended;
  request?: ApprovalRequest;
}

/**
 * Events, delivered two ways: to the audit trail, awaited and failing closed (publish rejects when the
 * record cannot be written, and the caller must not go on with what the event governs); then to the
 * subscribers (channels, waiters, tasks, exporters), best-effort, each on its own, never awaited. The
 * caller publishes after its store commit, so the order is: store, audit, notifications.
 */
export interface EventBus {
  /** Records the event (throws AUDIT_LOG_UNAVAILABLE when it cannot), then notifies. */
  publish(event: AuditEvent, request?: ApprovalRequest): Promise<Appended | undefined>;
  /**
   * For an allowed call's records on the hot path: queued for the next group commit when the trail is
   * healthy; otherwise recorded and awaited like `publish`, so a failing trail refuses the call.
   */
  publishQueued(event: AuditEvent): Promise<void>;
  subscribe(listener: (published: Published) => void): () => void;
}

/**
 * `redact` runs over every event before anyone sees it: arguments arrive redacted already, but error
 * messages, reasons and texts from servers and people may hold secrets too.
 */
export function createEventBus(
  trail: AuditTrail | undefined,
  logger: Logger,
  redact: (event: AuditEvent) => AuditEvent = (event) => event,
): EventBus {
  const log = logger.child({ module: 'events' });
  const listeners = new Set<(published: Published) => void>();

  function notify(published: Published): void {
    for (const listener of listeners) {
      try {
        listener(published);
      } catch (error) {
        log.error({ err: error, event: published.event.event }, 'an event subscriber failed');
      }
    }
  }

  async function record(event: AuditEvent): Promise<Appended | undefined> {
    if (!trail) return undefined;
    try {
      return await trail.record(event);
    } catch (error) {
      throw auditUnavailable(event, error);
    }
  }

  return {
    async publish(raw, request) {
      const event = redact(raw);
      const appended = await record(event);
      notify({ event, ...(appended ? { appended } : {}), ...(request ? { request } : {}) });
      return appended;
    },
    async publishQueued(raw) {
      const event = redact(raw);
      if (trail && !trail.recordQueued(event)) await record(event);
      notify({ event });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The bus's last look for secrets: events built from outside text (a server's error, a reason someone
 * typed) pass the redactor; those Gatehouse builds redacted need no second scan.
 */
export function redactEvents(redactor: Pick<Redactor, 'redactValue'>): (event: AuditEvent) => AuditEvent {
  return (event) =>
    REDACTED_WHEN_BUILT.has(event.event) ? event : (redactor.redactValue(event) as AuditEvent);
}
