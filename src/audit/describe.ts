import type { AuditEvent, AuditPrincipal } from './events.js';

/**
 * What each event says, in one place for every reader: a sentence for people (`audit show`, `tail`,
 * CSV, the SIEM body), the facts a table needs (who, which call, what came of it), and how much it
 * matters. The switches are exhaustive: a new event in the vocabulary does not compile until it is
 * described here.
 */

/** How much an event matters to whoever watches the trail; exporters map it to their own scales. */
export type EventSeverity = 'info' | 'notice' | 'warning' | 'error';

export interface EventFacts {
  approvalId?: string;
  callId?: string;
  /** Who acted: the caller of a call, the approver of a decision, whoever cancelled. */
  actor?: AuditPrincipal;
  server?: string;
  tool?: string;
  /** The policy's effect, or an approver's verdict. */
  decision?: string;
  rules?: readonly string[];
  policyVersion?: string;
  /** What came of it: a request's state, an execution's end, a refusal's code. */
  outcome?: string;
}

/** `<name>+<key id>`: how a verifier key is named in messages. */
export const verifierKeyLabel = (verifierKey: string): string => verifierKey.split('+').slice(0, 2).join('+');
const call = (e: { server: string; tool: string }): string => `${e.server}/${e.tool}`;
const ruleText = (rules: readonly string[]): string =>
  rules.length === 0 ? 'the default effect' : `rule${rules.length > 1 ? 's' : ''} ${rules.join(', ')}`;

export function describeEvent(e: AuditEvent): string {
  switch (e.event) {
    case 'call.decided':
      return (
        `${e.caller.id} called ${call(e)}: ${e.effect}` +
        `${e.mode === 'shadow' ? ' (shadow mode: not enforced)' : ''} by ${ruleText(e.rules)}, ` +
        `policy ${e.policyVersion}${e.reason ? `: ${e.reason}` : ''}`
      );
    case 'approval.requested':
      return (
        `${e.caller.id} asked to run ${call(e)}: approval ${e.approvalId} needs ${e.quorum} of ` +
        `${e.approvers.join(', ')} by ${e.expiresAt} (${ruleText(e.rules)}, policy ${e.policyVersion})`
      );
    case 'approval.delivered':
      return (
        `approval ${e.approvalId} ${e.ok ? 'delivered' : 'NOT delivered'} to ${e.channel}` +
        `${e.target ? ` (${e.target})` : ''}${e.error ? `: ${e.error}` : ''}`
      );
    case 'approval.decided':
      return (
        `${e.approver.id} ${e.verdict === 'approve' ? 'approved' : 'rejected'} ${e.approvalId} via ${e.channel}` +
        `${e.reason ? `: ${e.reason}` : ''} (now ${e.state})`
      );
    case 'approval.refused':
      return `${e.approver.id} tried to ${e.verdict} ${e.approvalId} via ${e.channel}: refused (${e.code}: ${e.message})`;
    case 'approval.expired':
      return `approval ${e.approvalId} expired at ${e.expiresAt}`;
    case 'approval.cancelled':
      return `approval ${e.approvalId} cancelled${e.by ? ` by ${e.by.id}` : ''}: ${e.reason}`;
    case 'approval.quarantined':
      return `approval ${e.approvalId} quarantined: ${e.reason}`;
    case 'call.executing':
      return `${call(e)} executing for ${e.caller.id}${e.approvalId ? ` (approval ${e.approvalId})` : ''}`;
    case 'call.executed':
      return (
        `${call(e)} executed${e.isError ? '; the tool reported an error' : ''} (result ${e.resultDigest})` +
        credentialsOf(e)
      );
    case 'call.failed':
      return (
        `${call(e)} failed${e.reachedServer ? '' : ' before reaching the server'}: ` +
        `${e.error.code}: ${e.error.message}${credentialsOf(e)}`
      );
    case 'call.unknown':
      return `${call(e)} (approval ${e.approvalId}) may or may not have run: ${e.reason}`;
    case 'policy.loaded':
      return `policy ${e.version} loaded: ${e.rules} rule(s) from ${e.files.length} file(s)`;
    case 'policy.rejected':
      return `a policy change was rejected, ${e.version} stays in force: ${e.error}`;
    case 'downstream.connected':
      return (
        `server ${e.server} connected over ${e.transport} with ${e.tools} tool(s)` +
        `${e.restarts > 0 ? ` after ${e.restarts} restart(s)` : ''}`
      );
    case 'downstream.failed':
      return `server ${e.server} ${e.state === 'failed' ? 'did not start' : 'was lost and is restarting'}: ${e.reason}`;
    case 'tool.definition_changed':
      return `${call(e)} ${e.before === undefined ? 'appeared' : e.after === undefined ? 'was removed' : 'changed its definition'}`;
    case 'gatehouse.started':
      return (
        `Gatehouse ${e.version} started (pid ${e.pid}, ${e.transport}) with policy ${e.policyVersion}` +
        `${e.servers.length > 0 ? ` and servers ${e.servers.join(', ')}` : ''}`
      );
    case 'gatehouse.stopped':
      return `Gatehouse ${e.version} stopped (pid ${e.pid}): ${e.reason}`;
    case 'audit.checkpoint':
      return `checkpoint of ${e.size} record(s) signed by ${e.keyName}`;
    case 'audit.repaired':
      return `cut ${e.bytes} torn byte(s) off ${e.file} (a crash in the middle of an append)`;
    case 'audit.key_rotated':
      return `checkpoint signing key rotated from ${verifierKeyLabel(e.previousKey)} to ${verifierKeyLabel(e.nextKey)}`;
  }
}

/** `; with credential db (vault, lease …, revoked)`: which credentials an execution was given. */
function credentialsOf(e: Extract<AuditEvent, { event: 'call.executed' | 'call.failed' }>): string {
  const uses = (e.credentialsUsed ?? []).map((u) => {
    const facts = [
      u.source,
      ...(u.leaseId ? [`lease ${u.leaseId}`] : []),
      ...(u.revoked === undefined ? [] : [u.revoked ? 'revoked' : 'NOT revoked']),
    ];
    return `${u.name} (${facts.join(', ')})`;
  });
  const scrubbed = e.credentialsScrubbed
    ? `; a credential was scrubbed from its output ${e.credentialsScrubbed} time(s)`
    : '';
  return `${uses.length > 0 ? `; with credential ${uses.join(', ')}` : ''}${scrubbed}`;
}

export function eventSeverity(e: AuditEvent): EventSeverity {
  switch (e.event) {
    case 'call.decided':
      return e.effect === 'deny' && e.mode === 'enforce' ? 'notice' : 'info';
    case 'approval.refused':
    case 'approval.quarantined':
    case 'call.unknown':
    case 'policy.rejected':
    case 'audit.repaired':
      return 'warning';
    case 'approval.delivered':
      return e.ok ? 'info' : 'warning';
    case 'call.failed':
    case 'downstream.failed':
      return 'notice';
    case 'call.executed':
      return e.isError ? 'notice' : 'info';
    case 'tool.definition_changed':
      return e.before !== undefined && e.after !== undefined ? 'notice' : 'info';
    case 'approval.requested':
    case 'approval.decided':
    case 'approval.expired':
    case 'approval.cancelled':
    case 'call.executing':
    case 'policy.loaded':
    case 'downstream.connected':
    case 'gatehouse.started':
    case 'gatehouse.stopped':
    case 'audit.checkpoint':
    case 'audit.key_rotated':
      return 'info';
  }
}

export function eventFacts(e: AuditEvent): EventFacts {
  switch (e.event) {
    case 'call.decided':
      return {
        callId: e.callId,
        actor: e.caller,
        server: e.server,
        tool: e.tool,
        decision: e.mode === 'shadow' ? `shadow:${e.effect}` : e.effect,
        rules: e.rules,
        policyVersion: e.policyVersion,
      };
    case 'approval.requested':
      return {
        approvalId: e.approvalId,
        callId: e.callId,
        actor: e.caller,
        server: e.server,
        tool: e.tool,
        rules: e.rules,
        policyVersion: e.policyVersion,
        outcome: 'pending',
      };
    case 'approval.decided':
      return { approvalId: e.approvalId, actor: e.approver, decision: e.verdict, outcome: e.state };
    case 'approval.refused':
      return { approvalId: e.approvalId, actor: e.approver, decision: e.verdict, outcome: e.code };
    case 'approval.delivered':
      return { approvalId: e.approvalId, outcome: e.ok ? 'delivered' : 'not delivered' };
    case 'approval.expired':
      return { approvalId: e.approvalId, outcome: 'expired' };
    case 'approval.cancelled':
      return { approvalId: e.approvalId, ...(e.by && { actor: e.by }), outcome: 'cancelled' };
    case 'approval.quarantined':
      return { approvalId: e.approvalId, outcome: 'quarantined' };
    case 'call.executing':
    case 'call.executed':
    case 'call.failed':
      return {
        callId: e.callId,
        ...(e.approvalId !== undefined && { approvalId: e.approvalId }),
        actor: e.caller,
        server: e.server,
        tool: e.tool,
        outcome: executionOutcome(e),
      };
    case 'call.unknown':
      return { approvalId: e.approvalId, server: e.server, tool: e.tool, outcome: 'unknown' };
    case 'policy.loaded':
    case 'policy.rejected':
      return { policyVersion: e.version, outcome: e.event === 'policy.loaded' ? 'loaded' : 'rejected' };
    case 'gatehouse.started':
      return { policyVersion: e.policyVersion };
    case 'downstream.connected':
    case 'downstream.failed':
      return { server: e.server, outcome: e.event === 'downstream.connected' ? 'connected' : e.state };
    case 'tool.definition_changed':
      return { server: e.server, tool: e.tool };
    case 'gatehouse.stopped':
    case 'audit.checkpoint':
    case 'audit.repaired':
    case 'audit.key_rotated':
      return {};
  }
}

type Execution = Extract<AuditEvent, { event: 'call.executing' | 'call.executed' | 'call.failed' }>;

function executionOutcome(e: Execution): string {
  if (e.event === 'call.executing') return 'executing';
  if (e.event === 'call.failed') return 'failed';
  return e.isError ? 'tool error' : 'executed';
}
