import { createHash } from 'node:crypto';
import type { AuditLogOptions } from './log.js';
import type { NoteSigner } from './note.js';
import type { AuditCaller, AuditEvent, EventOf } from './events.js';
import { AuditEventSchema } from './events.js';
import type { TrailEntry } from './entries.js';
import { openTestLog, testKey } from './testkit.js';

/**
 * A realistic trail for the readers' tests (show, export, report, OTLP): every event of the vocabulary
 * in the order Gatehouse writes them, at known times, with arguments an attacker would send (markup, a
 * spreadsheet formula, a terminal escape). Each event is checked against its schema when built.
 */

export const T0 = Date.parse('2026-03-02T09:00:00.000Z');
export const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

const hex = (text: string) => createHash('sha256').update(text).digest('hex');
export const keyed = (text: string) => `hmac-sha256:${hex(text)}`;
export const plain = (text: string) => `sha256:${hex(text)}`;

export const ALICE: AuditCaller = {
  id: 'alice',
  groups: ['dev'],
  transport: 'http',
  client: { name: 'claude-code', version: '1.0.0' },
};
export const BOB = { id: 'bob', groups: ['leads'] };
export const CAROL = { id: 'carol', groups: ['leads', 'security'] };
export const DAVE = { id: 'dave', groups: ['leads'] };

/** What a client may put in arguments: markup, a spreadsheet formula, a terminal escape sequence. */
export const HOSTILE = {
  path: '/srv/<script>alert(1)</script><img src=x onerror=alert(2)>',
  content: '=HYPERLINK("http://evil.example/","click")',
  note: '\u001b[31mred\u001b]0;pwned\u0007',
};

export const HOSTILE_TOOL = "@SUM(1+1)*cmd|' /C calc'!A0";
/** A reason an approver typed, shown in the report: markup that must stay text. */
export const HOSTILE_REASON =
  '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> not today';

export interface TimedEvent {
  time: string;
  event: AuditEvent;
}

const argumentsOf = (value: Record<string, unknown>, redacted: string[] = []) => ({
  value: value as Record<string, never>,
  redacted,
  digest: keyed(JSON.stringify(value)),
});

function callEvents(
  callId: string,
  caller: AuditCaller,
  tool: string,
  args: Record<string, unknown>,
): {
  server: string;
  tool: string;
  exposedName: string;
  callId: string;
  caller: AuditCaller;
  args: ReturnType<typeof argumentsOf>;
} {
  return { server: 'fs', tool, exposedName: `fs__${tool}`, callId, caller, args: argumentsOf(args) };
}

/** One approval's records from request to outcome; `minutes` is when it was asked for. */
function approvalFlow(options: {
  approvalId: string;
  callId: string;
  tool: string;
  minutes: number;
  args: Record<string, unknown>;
  quorum?: number;
  steps: (base: {
    approvalId: string;
    call: ReturnType<typeof callEvents>;
    at: (afterMinutes: number) => string;
  }) => TimedEvent[];
}): TimedEvent[] {
  const call = callEvents(options.callId, ALICE, options.tool, options.args);
  const { args, ...fields } = call;
  const start = at(options.minutes);
  const after = (m: number) => at(options.minutes + m);
  return [
    {
      time: start,
      event: {
        event: 'call.decided',
        ...fields,
        effect: 'approve',
        mode: 'enforce',
        rules: ['fs-writes'],
        reason: 'writes need a lead',
        policyVersion: 'v1',
        arguments: args,
      },
    },
    {
      time: start,
      event: {
        event: 'approval.requested',
        ...fields,
        approvalId: options.approvalId,
        digest: plain(options.approvalId),
        toolDefinitionDigest: plain(options.tool),
        rules: ['fs-writes'],
        reason: 'writes need a lead',
        policyVersion: 'v1',
        approvers: ['group:leads'],
        quorum: options.quorum ?? 1,
        expiresAt: after(60),
        arguments: args,
      },
    },
    ...options.steps({ approvalId: options.approvalId, call, at: after }),
  ];
}

const verdict = (
  approver: { id: string; groups: string[] },
  kind: 'approve' | 'reject',
  time: string,
  reason?: string,
) => ({
  approver,
  verdict: kind,
  at: time,
  channel: 'web',
  ...(reason !== undefined && { reason }),
});

function execution(
  call: ReturnType<typeof callEvents>,
  approvalId: string,
  approvals: EventOf<'call.executing'>['approvals'],
) {
  const { args, ...fields } = call;
  return {
    ...fields,
    rules: ['fs-writes'],
    policyVersion: 'v1',
    approvalId,
    approvals,
    argumentsDigest: args.digest,
  };
}

/** The sample trail: every recorded event type, in Gatehouse's order. */
export function sampleEvents(rotatedTo?: string, rotatedFrom?: string): TimedEvent[] {
  const read = callEvents('c-read', ALICE, 'read_file', { path: '/srv/readme.md' });
  const { args: readArgs, ...readFields } = read;
  const readRule = { rules: ['fs-reads'], policyVersion: 'v1' };
  // A hostile server may name its tools as it likes: a spreadsheet formula, here.
  const denied = callEvents('c-del', ALICE, HOSTILE_TOOL, { path: '/etc/passwd' });
  const { args: deniedArgs, ...deniedFields } = denied;
  const events: TimedEvent[] = [
    {
      time: at(0),
      event: {
        event: 'gatehouse.started',
        version: '0.1.0',
        pid: 4242,
        transport: 'http',
        policyVersion: 'v1',
        servers: ['fs'],
      },
    },
    { time: at(0), event: { event: 'policy.loaded', version: 'v1', files: ['policies/fs.yaml'], rules: 3 } },
    {
      time: at(0),
      event: { event: 'downstream.connected', server: 'fs', transport: 'stdio', tools: 4, restarts: 0 },
    },
    {
      time: at(1),
      event: {
        event: 'call.decided',
        ...readFields,
        effect: 'allow',
        mode: 'enforce',
        rules: ['fs-reads'],
        reason: '',
        policyVersion: 'v1',
        arguments: readArgs,
      },
    },
    {
      time: at(1),
      event: { event: 'call.executing', ...readFields, ...readRule, argumentsDigest: readArgs.digest },
    },
    {
      time: at(1),
      event: {
        event: 'call.executed',
        ...readFields,
        ...readRule,
        argumentsDigest: readArgs.digest,
        isError: false,
        resultDigest: plain('readme'),
      },
    },
    {
      time: at(2),
      event: {
        event: 'call.decided',
        ...deniedFields,
        effect: 'deny',
        mode: 'enforce',
        rules: ['no-etc'],
        reason: 'system files are off limits',
        policyVersion: 'v1',
        arguments: deniedArgs,
      },
    },
    {
      time: at(3),
      event: {
        event: 'call.decided',
        ...readFields,
        callId: 'c-shadow',
        caller: { ...ALICE, id: 'bob', groups: ['leads'] },
        effect: 'approve',
        mode: 'shadow',
        rules: ['fs-writes'],
        reason: 'would need a lead',
        policyVersion: 'v1',
        arguments: readArgs,
      },
    },
    // Approved by two approvers after a refused self-approval and a failed delivery; executed.
    ...approvalFlow({
      approvalId: 'a-exec',
      callId: 'c-exec',
      tool: 'write_file',
      minutes: 10,
      args: HOSTILE,
      quorum: 2,
      steps: ({ approvalId, call, at: after }) => {
        const approvals = [
          verdict(BOB, 'approve', after(1)),
          verdict(CAROL, 'approve', after(3), 'checked the path'),
        ];
        return [
          { time: after(0), event: { event: 'approval.delivered', approvalId, channel: 'web', ok: true } },
          {
            time: after(0),
            event: {
              event: 'approval.delivered',
              approvalId,
              channel: 'webhook',
              ok: false,
              target: 'hooks.example',
              error: 'HTTP 503\u001b[2J\u001b]0;pwned\u0007',
            },
          },
          {
            time: after(0.5),
            event: {
              event: 'approval.refused',
              approvalId,
              approver: { id: 'alice', groups: ['dev'] },
              verdict: 'approve',
              channel: 'web',
              code: 'APPROVER_IS_REQUESTER',
              message: 'the requester cannot decide on their own request',
            },
          },
          {
            time: after(1),
            event: { event: 'approval.decided', approvalId, ...approvals[0]!, state: 'pending' },
          },
          {
            time: after(3),
            event: { event: 'approval.decided', approvalId, ...approvals[1]!, state: 'approved' },
          },
          { time: after(3), event: { event: 'call.executing', ...execution(call, approvalId, approvals) } },
          {
            time: after(3),
            event: {
              event: 'call.executed',
              ...execution(call, approvalId, approvals),
              isError: false,
              resultDigest: plain('written'),
            },
          },
        ];
      },
    }),
    ...approvalFlow({
      approvalId: 'a-reject',
      callId: 'c-reject',
      tool: 'write_file',
      minutes: 20,
      args: { path: '/srv/a.txt' },
      steps: ({ approvalId, at: after }) => [
        {
          time: after(20),
          event: {
            event: 'approval.decided',
            approvalId,
            ...verdict(DAVE, 'reject', after(20), HOSTILE_REASON),
            state: 'rejected',
          },
        },
      ],
    }),
    ...approvalFlow({
      approvalId: 'a-expire',
      callId: 'c-expire',
      tool: 'write_file',
      minutes: 30,
      args: { path: '/srv/b.txt' },
      steps: ({ approvalId, at: after }) => [
        {
          time: after(60),
          event: {
            event: 'approval.refused',
            approvalId,
            approver: BOB,
            verdict: 'approve',
            channel: 'slack',
            code: 'APPROVAL_EXPIRED',
            message: 'the approval request has expired',
          },
        },
        { time: after(60), event: { event: 'approval.expired', approvalId, expiresAt: after(60) } },
      ],
    }),
    ...approvalFlow({
      approvalId: 'a-cancel',
      callId: 'c-cancel',
      tool: 'write_file',
      minutes: 40,
      args: { path: '/srv/c.txt' },
      steps: ({ approvalId, at: after }) => [
        {
          time: after(2),
          event: {
            event: 'approval.cancelled',
            approvalId,
            reason: 'the client gave up',
            by: { id: 'alice', groups: ['dev'] },
          },
        },
      ],
    }),
    ...approvalFlow({
      approvalId: 'a-fail',
      callId: 'c-fail',
      tool: 'move_file',
      minutes: 50,
      args: { from: '/srv/d.txt', to: '/srv/e.txt' },
      steps: ({ approvalId, call, at: after }) => {
        const approvals = [verdict(CAROL, 'approve', after(30))];
        return [
          {
            time: after(30),
            event: { event: 'approval.decided', approvalId, ...approvals[0]!, state: 'approved' },
          },
          { time: after(30), event: { event: 'call.executing', ...execution(call, approvalId, approvals) } },
          {
            time: after(30),
            event: {
              event: 'call.failed',
              ...execution(call, approvalId, approvals),
              reachedServer: true,
              error: { code: 'DOWNSTREAM_TIMEOUT', message: 'the downstream server did not answer in time' },
            },
          },
        ];
      },
    }),
    ...approvalFlow({
      approvalId: 'a-unknown',
      callId: 'c-unknown',
      tool: 'write_file',
      minutes: 60,
      args: { path: '/srv/f.txt' },
      steps: ({ approvalId, call, at: after }) => {
        const approvals = [verdict(BOB, 'approve', after(300))];
        return [
          {
            time: after(300),
            event: { event: 'approval.decided', approvalId, ...approvals[0]!, state: 'approved' },
          },
          { time: after(300), event: { event: 'call.executing', ...execution(call, approvalId, approvals) } },
          {
            time: after(301),
            event: { event: 'gatehouse.stopped', version: '0.1.0', pid: 4242, reason: 'crash' },
          },
          {
            time: after(302),
            event: {
              event: 'gatehouse.started',
              version: '0.1.1',
              pid: 4243,
              transport: 'http',
              policyVersion: 'v1',
              servers: ['fs'],
            },
          },
          {
            time: after(302),
            event: { event: 'audit.repaired', file: 'segment-0000000000000000.jsonl', bytes: 17 },
          },
          {
            time: after(302),
            event: {
              event: 'call.unknown',
              approvalId,
              server: 'fs',
              tool: 'write_file',
              reason: 'found executing after a restart',
            },
          },
        ];
      },
    }),
    {
      time: at(400),
      event: {
        event: 'approval.quarantined',
        approvalId: 'a-quarantine',
        reason: 'the stored request no longer hashes to its digest',
      },
    },
    {
      time: at(401),
      event: {
        event: 'policy.rejected',
        version: 'v1',
        error: 'policies/fs.yaml:3:7: unknown field "efect"',
      },
    },
    {
      time: at(402),
      event: { event: 'policy.loaded', version: 'v2', files: ['policies/fs.yaml'], rules: 4 },
    },
    {
      time: at(403),
      event: {
        event: 'tool.definition_changed',
        server: 'fs',
        tool: 'write_file',
        before: plain('a'),
        after: plain('b'),
      },
    },
    {
      time: at(404),
      event: {
        event: 'downstream.failed',
        server: 'fs',
        state: 'restarting',
        reason: 'the process exited with code 1',
      },
    },
    {
      time: at(405),
      event: { event: 'downstream.connected', server: 'fs', transport: 'stdio', tools: 4, restarts: 1 },
    },
    ...(rotatedTo && rotatedFrom
      ? [
          {
            time: at(406),
            event: { event: 'audit.key_rotated' as const, previousKey: rotatedFrom, nextKey: rotatedTo },
          },
        ]
      : []),
    { time: at(500), event: { event: 'gatehouse.stopped', version: '0.1.1', pid: 4243, reason: 'SIGTERM' } },
  ];
  for (const { event } of events) AuditEventSchema.parse(event);
  return events;
}

/** Not in the log (checkpoints live beside it), but delivered to exporters: for mapping tests. */
export const CHECKPOINT_EVENT: AuditEvent = {
  event: 'audit.checkpoint',
  size: 42,
  rootHash: 'ab'.repeat(32),
  keyName: 'audit.test/gatehouse+01234567',
};

/**
 * Writes events to a real log in `dir` with the engine, each at its time, and closes it (a checkpoint
 * covers everything). Returns the key, for verifying.
 */
export async function writeTrail<K extends { signer: NoteSigner }>(
  dir: string,
  events: readonly TimedEvent[],
  key: K = testKey() as unknown as K,
  options: Partial<AuditLogOptions> = {},
): Promise<K> {
  let now = new Date(T0);
  const log = await openTestLog(dir, { ...testKey(), signer: key.signer }, { ...options, now: () => now });
  for (const [i, { time, event }] of events.entries()) {
    now = new Date(time);
    await log.append(event, { sync: i === events.length - 1 });
  }
  await log.close();
  return key;
}

/** The sample as a reader gets it from the log, without writing one (seq by position). */
export function sampleEntries(events: readonly TimedEvent[] = sampleEvents()): TrailEntry[] {
  return events.map(({ time, event }, seq) => ({
    seq,
    time,
    record: event as Record<string, unknown>,
    event,
  }));
}
