import { VERSION } from '../../version.js';
import { describeEvent, eventSeverity, verifierKeyLabel, type EventSeverity } from '../describe.js';
import type { TrailEntry } from '../entries.js';
import type { AuditCaller, AuditEvent, AuditPrincipal, EventOf } from '../events.js';
import { approvalIdOf, callIdOf } from '../story.js';

/**
 * Audit records as OCSF 1.8.0 events (https://schema.ocsf.io/1.8.0), the schema SIEMs ingest. The
 * mapping, documented in the README's auditors' section:
 *
 * | records                                         | class                             |
 * |-------------------------------------------------|-----------------------------------|
 * | call.decided, call.executing/executed/failed/unknown | API Activity (6003), activity Other: "Decide" / "Execute" |
 * | approval.*                                      | User Access Management (3005): an approval grants one call's privilege to its requester; an approver's "approve" is Assign Privileges (1), the rest Other |
 * | policy.loaded/rejected, tool.definition_changed, audit.key_rotated, audit.checkpoint | Entity Management (3004) |
 * | gatehouse.started/stopped, downstream.*         | Application Lifecycle (6002)      |
 * | audit.repaired                                  | Application Error (6008)          |
 *
 * Decisions and approvals carry the Security Control profile (action_id, disposition_id, policy). The
 * whole record is kept under `unmapped`, so nothing is lost to the mapping.
 */

export const OCSF_VERSION = '1.8.0';

const CLASSES = {
  6003: ['API Activity', 6, 'Application Activity'],
  6002: ['Application Lifecycle', 6, 'Application Activity'],
  6008: ['Application Error', 6, 'Application Activity'],
  3005: ['User Access Management', 3, 'Identity & Access Management'],
  3004: ['Entity Management', 3, 'Identity & Access Management'],
} as const;
type ClassUid = keyof typeof CLASSES;

const SEVERITY: Record<EventSeverity, [number, string]> = {
  info: [1, 'Informational'],
  notice: [2, 'Low'],
  warning: [3, 'Medium'],
  error: [4, 'High'],
};

const STATUS = { 0: 'Unknown', 1: 'Success', 2: 'Failure' } as const;
const ACTION = { 1: 'Allowed', 2: 'Denied', 3: 'Observed' } as const;
const DISPOSITION = {
  1: 'Allowed',
  2: 'Blocked',
  3: 'Quarantined',
  8: 'Approved',
  14: 'Delayed',
  17: 'Logged',
  25: 'Rejected',
  26: 'Unauthorized',
} as const;

/** What one record maps to, before the attributes every class shares are added. */
interface Mapped {
  class_uid: ClassUid;
  activity_id: number;
  activity_name: string;
  /** 1 success, 2 failure, 0 unknown; or a source-specific status (99) by its name. */
  status?: keyof typeof STATUS | string;
  status_code?: string;
  status_detail?: string;
  /** Security Control profile. */
  control?: {
    action: keyof typeof ACTION | string;
    disposition: keyof typeof DISPOSITION | string;
    alert?: boolean;
  };
  policy?: { name: string; version?: string; uid?: string; is_applied?: boolean };
  fields: Record<string, unknown>;
}

interface RequestContext {
  caller: AuditCaller;
  server: string;
  tool: string;
}

const GATEHOUSE_ACTOR = { app_name: 'Gatehouse' } as const;

function user(principal: AuditPrincipal) {
  return {
    uid: principal.id,
    name: principal.id,
    type_id: 1,
    ...(principal.groups.length > 0 && { groups: principal.groups.map((name) => ({ name })) }),
  };
}

function actor(caller: AuditCaller, authorizations?: unknown[]) {
  return {
    user: user(caller),
    ...(caller.client && { app_name: `${caller.client.name} ${caller.client.version}` }),
    ...(authorizations && { authorizations }),
  };
}

const sourceOf = (caller: AuditCaller) => ({
  name: caller.client?.name ?? 'MCP client',
  svc_name: `mcp-${caller.transport}`,
});

const toolResource = (server: string, tool: string) => ({
  type: 'MCP tool',
  name: tool,
  uid: `${server}/${tool}`,
});

/** Maps records one by one, remembering each approval's request so later events can name the requester. */
export function ocsfMapper(productVersion = VERSION) {
  const requests = new Map<string, RequestContext>();
  let version = productVersion;
  /** Takes in what later records need, from a record that is not exported itself. */
  const learn = ({ event }: TrailEntry): void => {
    if (event?.event === 'approval.requested') requests.set(event.approvalId, event);
    if (event?.event === 'gatehouse.started') version = event.version;
  };
  return {
    learn,
    map(entry: TrailEntry): Record<string, unknown> {
      learn(entry);
      const mapped = entry.event ? mapEvent(entry.event, requests) : unknownRecord(entry);
      return envelope(entry, mapped, version);
    },
  };
}

function envelope(entry: TrailEntry, m: Mapped, productVersion: string): Record<string, unknown> {
  const [className, categoryUid, categoryName] = CLASSES[m.class_uid];
  const [severityId, severity] = SEVERITY[entry.event ? eventSeverity(entry.event) : 'warning'];
  const correlation = entry.event && (approvalIdOf(entry.event) ?? callIdOf(entry.event));
  const status = m.status === undefined ? undefined : typeof m.status === 'number' ? m.status : 99;
  const action = m.control && (typeof m.control.action === 'number' ? m.control.action : 99);
  const disposition = m.control && (typeof m.control.disposition === 'number' ? m.control.disposition : 99);
  return {
    class_uid: m.class_uid,
    class_name: className,
    category_uid: categoryUid,
    category_name: categoryName,
    activity_id: m.activity_id,
    activity_name: m.activity_name,
    type_uid: m.class_uid * 100 + m.activity_id,
    type_name: `${className}: ${m.activity_name}`,
    severity_id: severityId,
    severity,
    time: Date.parse(entry.time),
    message: entry.event ? describeEvent(entry.event) : `unknown audit record: ${entry.unknown}`,
    ...(status !== undefined && {
      status_id: status,
      status: typeof m.status === 'string' ? m.status : STATUS[m.status as keyof typeof STATUS],
    }),
    ...(m.status_code !== undefined && { status_code: m.status_code }),
    ...(m.status_detail !== undefined && { status_detail: m.status_detail }),
    ...(m.control && {
      action_id: action,
      action: typeof m.control.action === 'string' ? m.control.action : ACTION[m.control.action],
      disposition_id: disposition,
      disposition:
        typeof m.control.disposition === 'string'
          ? m.control.disposition
          : DISPOSITION[m.control.disposition],
      is_alert: m.control.alert === true,
    }),
    ...(m.policy && { policy: m.policy }),
    ...m.fields,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Gatehouse', vendor_name: 'Gatehouse', version: productVersion },
      log_name: 'audit',
      event_code: entry.event?.event ?? String(entry.record.event ?? 'unknown'),
      sequence: entry.seq,
      original_time: entry.time,
      ...(correlation !== undefined && { correlation_uid: correlation }),
      ...(m.control && { profiles: ['security_control'] }),
    },
    unmapped: entry.record,
  };
}

function unknownRecord(entry: TrailEntry): Mapped {
  return {
    class_uid: 6008,
    activity_id: 2,
    activity_name: 'Translation Error',
    status_detail: `not an event this version of Gatehouse knows: ${entry.unknown}`,
    fields: { actor: GATEHOUSE_ACTOR },
  };
}

function mapEvent(e: AuditEvent, requests: ReadonlyMap<string, RequestContext>): Mapped {
  switch (e.event) {
    case 'call.decided':
      return decided(e);
    case 'call.executing':
    case 'call.executed':
    case 'call.failed':
    case 'call.unknown':
      return executed(e, requests);
    case 'approval.requested':
    case 'approval.delivered':
    case 'approval.decided':
    case 'approval.refused':
    case 'approval.expired':
    case 'approval.cancelled':
    case 'approval.quarantined':
      return approval(e, requests.get(e.approvalId));
    case 'policy.loaded':
    case 'policy.rejected':
      return entity(3, 'Update', e.event === 'policy.loaded' ? 1 : 2, {
        entity: {
          type: 'Policy',
          type_id: 5,
          name: 'Gatehouse policy set',
          uid: e.version,
          version: e.version,
        },
        ...(e.event === 'policy.loaded'
          ? { comment: `${e.rules} rule(s) from ${e.files.join(', ')}` }
          : { comment: `rejected; ${e.version} stays in force: ${e.error}` }),
      });
    case 'tool.definition_changed': {
      const [id, name] =
        e.before === undefined ? [1, 'Create'] : e.after === undefined ? [4, 'Delete'] : [3, 'Update'];
      return entity(id as number, name as string, 1, {
        entity: {
          ...toolResource(e.server, e.tool),
          data: { before: e.before ?? null, after: e.after ?? null },
        },
        actor: { app_name: e.server },
      });
    }
    case 'audit.key_rotated':
      return entity(3, 'Update', 1, {
        entity: { type: 'Audit signing key', name: verifierKeyLabel(e.nextKey), uid: e.nextKey },
        comment: `replaces ${verifierKeyLabel(e.previousKey)}`,
      });
    case 'audit.checkpoint':
      return entity(1, 'Create', 1, {
        entity: {
          type: 'Audit checkpoint',
          name: e.keyName,
          uid: `${e.size}`,
          data: { size: e.size, rootHash: e.rootHash },
        },
      });
    case 'gatehouse.started':
    case 'gatehouse.stopped':
      return lifecycle(e.event === 'gatehouse.started' ? 3 : 4, 1, {
        name: 'Gatehouse',
        vendor_name: 'Gatehouse',
        version: e.version,
      });
    case 'downstream.connected':
      return lifecycle(e.restarts > 0 ? 5 : 3, 1, { name: e.server, uid: e.server });
    case 'downstream.failed':
      return {
        ...lifecycle(e.state === 'failed' ? 3 : 4, 2, { name: e.server, uid: e.server }),
        status_detail: e.reason,
      };
    case 'audit.repaired':
      return {
        class_uid: 6008,
        activity_id: 1,
        activity_name: 'General Error',
        status_detail: `cut ${e.bytes} torn byte(s) off ${e.file}`,
        fields: { actor: GATEHOUSE_ACTOR },
      };
  }
}

function entity(activity: number, name: string, status: 1 | 2, fields: Record<string, unknown>): Mapped {
  return {
    class_uid: 3004,
    activity_id: activity,
    activity_name: name,
    status,
    fields: { actor: GATEHOUSE_ACTOR, ...fields },
  };
}

const LIFECYCLE: Record<number, string> = { 3: 'Start', 4: 'Stop', 5: 'Restart' };

function lifecycle(activity: 3 | 4 | 5, status: 1 | 2, app: Record<string, unknown>): Mapped {
  return {
    class_uid: 6002,
    activity_id: activity,
    activity_name: LIFECYCLE[activity]!,
    status,
    fields: { actor: GATEHOUSE_ACTOR, app },
  };
}

function decided(e: EventOf<'call.decided'>): Mapped {
  const enforced = e.mode === 'enforce';
  const control: Mapped['control'] = !enforced
    ? { action: 3, disposition: 17 }
    : e.effect === 'allow'
      ? { action: 1, disposition: 1 }
      : e.effect === 'deny'
        ? { action: 2, disposition: 2 }
        : { action: 'Require approval', disposition: 14 };
  const policy = {
    name: e.rules.join(', ') || 'default effect',
    version: e.policyVersion,
    is_applied: enforced,
  };
  const authorizations = (e.rules.length > 0 ? e.rules : ['default effect']).map((rule) => ({
    decision: e.effect,
    policy: { name: rule, uid: rule, version: e.policyVersion },
  }));
  return {
    class_uid: 6003,
    activity_id: 99,
    activity_name: 'Decide',
    status: !enforced || e.effect === 'allow' ? 1 : e.effect === 'deny' ? 2 : 'Pending approval',
    ...(e.effect === 'deny' && enforced && { status_detail: e.reason }),
    control,
    policy,
    fields: {
      actor: actor(e.caller, authorizations),
      src_endpoint: sourceOf(e.caller),
      api: { operation: e.tool, service: { name: e.server }, request: { uid: e.callId } },
      resources: [toolResource(e.server, e.tool)],
    },
  };
}

type Execution = EventOf<'call.executing' | 'call.executed' | 'call.failed' | 'call.unknown'>;

function executed(e: Execution, requests: ReadonlyMap<string, RequestContext>): Mapped {
  const caller = 'caller' in e ? e.caller : requests.get(e.approvalId)?.caller;
  const approvals =
    'approvals' in e && e.approvals
      ? e.approvals.map((a) => ({
          decision: `${a.verdict} by ${a.approver.id}`,
          policy: { name: `approval ${e.approvalId}`, uid: e.approvalId },
        }))
      : undefined;
  const status: Mapped['status'] =
    e.event === 'call.executing'
      ? 'Started'
      : e.event === 'call.executed'
        ? e.isError
          ? 2
          : 1
        : e.event === 'call.failed'
          ? 2
          : 0;
  return {
    class_uid: 6003,
    activity_id: 99,
    activity_name: 'Execute',
    status,
    ...(e.event === 'call.failed' && { status_code: e.error.code, status_detail: e.error.message }),
    ...(e.event === 'call.executed' && e.isError && { status_detail: 'the tool reported an error' }),
    ...(e.event === 'call.unknown' && { status_detail: e.reason }),
    ...('rules' in e && {
      policy: { name: e.rules.join(', ') || 'default effect', version: e.policyVersion },
    }),
    fields: {
      actor: caller ? actor(caller, approvals) : GATEHOUSE_ACTOR,
      src_endpoint: caller ? sourceOf(caller) : { name: 'Gatehouse' },
      api: {
        operation: e.tool,
        service: { name: e.server },
        ...('callId' in e && { request: { uid: e.callId } }),
        ...(e.event === 'call.executed' && {
          response: { code: e.isError ? 1 : 0, data: { resultDigest: e.resultDigest } },
        }),
        ...(e.event === 'call.failed' && {
          response: { error: e.error.code, error_message: e.error.message },
        }),
      },
      resources: [toolResource(e.server, e.tool)],
    },
  };
}

type ApprovalEvent = EventOf<
  | 'approval.requested'
  | 'approval.delivered'
  | 'approval.decided'
  | 'approval.refused'
  | 'approval.expired'
  | 'approval.cancelled'
  | 'approval.quarantined'
>;

function approval(e: ApprovalEvent, request: RequestContext | undefined): Mapped {
  const requester = request ? user(request.caller) : { uid: 'unknown', name: 'unknown' };
  const fields = {
    user: requester,
    privileges: request ? [`tools/call ${request.server}/${request.tool}`] : ['tools/call'],
    ...(request && { resources: [toolResource(request.server, request.tool)] }),
  };
  const policy = { name: `approval ${e.approvalId}`, uid: e.approvalId };
  const base = { class_uid: 3005 as const, policy };
  switch (e.event) {
    case 'approval.requested':
      return {
        ...base,
        activity_id: 99,
        activity_name: 'Request',
        status: 'Pending',
        fields: { ...fields, actor: actor(e.caller) },
      };
    case 'approval.delivered':
      return {
        ...base,
        activity_id: 99,
        activity_name: 'Notify',
        status: e.ok ? 1 : 2,
        ...(e.error !== undefined && { status_detail: e.error }),
        fields: { ...fields, actor: GATEHOUSE_ACTOR },
      };
    case 'approval.decided':
      return {
        ...base,
        ...(e.verdict === 'approve'
          ? {
              activity_id: 1,
              activity_name: 'Assign Privileges',
              control: { action: 1, disposition: e.state === 'pending' ? 14 : 8 },
            }
          : { activity_id: 99, activity_name: 'Reject', control: { action: 2, disposition: 25 } }),
        status: 1,
        ...(e.reason !== undefined && { status_detail: e.reason }),
        fields: { ...fields, actor: { user: user(e.approver) } },
      };
    case 'approval.refused':
      return {
        ...base,
        activity_id: 99,
        activity_name: 'Refuse Decision',
        status: 2,
        status_code: e.code,
        status_detail: e.message,
        control: { action: 2, disposition: 26, alert: e.code === 'APPROVER_IS_REQUESTER' },
        fields: { ...fields, actor: { user: user(e.approver) } },
      };
    case 'approval.expired':
    case 'approval.cancelled':
    case 'approval.quarantined': {
      const [name, disposition] =
        e.event === 'approval.expired'
          ? ['Expire', 'Expired']
          : e.event === 'approval.cancelled'
            ? ['Cancel', 'Cancelled']
            : ['Quarantine', 3];
      const by = e.event === 'approval.cancelled' && e.by ? { user: user(e.by) } : GATEHOUSE_ACTOR;
      return {
        ...base,
        activity_id: 99,
        activity_name: name as string,
        status: 2,
        ...('reason' in e && { status_detail: e.reason }),
        control: { action: 2, disposition: disposition as 3 | string },
        fields: { ...fields, actor: by },
      };
    }
  }
}
