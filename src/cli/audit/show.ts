import { describeEvent } from '../../audit/describe.js';
import { followTrail, readTrail, type TrailEntry } from '../../audit/entries.js';
import { safeJson } from '../../audit/export/json.js';
import { approvalIdOf, approvalStories, callIdOf, type ApprovalStory } from '../../audit/story.js';
import { GatehouseError } from '../../errors.js';
import { visible } from '../approvals.js';
import type { CliIo } from '../options.js';
import { auditLocation, type LocationFlags } from './location.js';

/**
 * `gatehouse audit show ID` (the whole story of one approval or call) and `gatehouse audit tail`.
 * Everything a client sent is shown through `visible`: an escape sequence in a tool argument or a
 * reason must not drive the reader's terminal.
 */

export function formatEntry(entry: TrailEntry): string {
  const name = entry.event?.event ?? String(entry.record.event ?? '(no event)');
  const text = entry.event
    ? describeEvent(entry.event)
    : `(not an event this version of Gatehouse knows: ${entry.unknown})`;
  return visible(`${entry.time}  ${`#${entry.seq}`.padEnd(6)} ${name.padEnd(22)} ${text}`);
}

/** Every id linked to `id` through records that name both an approval and a call. */
async function linkedIds(dir: string, id: string): Promise<Set<string>> {
  const links = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    if (!links.has(a)) links.set(a, new Set());
    links.get(a)!.add(b);
  };
  for await (const entry of readTrail(dir)) {
    const approvalId = entry.event && approvalIdOf(entry.event);
    const callId = entry.event && callIdOf(entry.event);
    if (approvalId !== undefined && callId !== undefined) {
      link(approvalId, callId);
      link(callId, approvalId);
    }
  }
  const ids = new Set([id]);
  for (const known of ids) for (const linked of links.get(known) ?? []) ids.add(linked);
  return ids;
}

export async function auditShow(
  id: string,
  flags: LocationFlags & { json?: boolean },
  io: CliIo,
): Promise<number> {
  const { dir } = auditLocation(flags);
  const ids = await linkedIds(dir, id);
  const entries: TrailEntry[] = [];
  const stories = approvalStories();
  for await (const entry of readTrail(dir)) {
    const event = entry.event;
    if (!event) continue;
    const approvalId = approvalIdOf(event);
    const callId = callIdOf(event);
    if ((approvalId === undefined || !ids.has(approvalId)) && (callId === undefined || !ids.has(callId)))
      continue;
    entries.push(entry);
    stories.add(entry);
  }
  if (entries.length === 0) {
    throw new GatehouseError('APPROVAL_NOT_FOUND', `no record in ${dir} names an approval or call ${id}`, {
      id,
    });
  }
  if (flags.json) {
    for (const entry of entries) io.out(safeJson({ seq: entry.seq, time: entry.time, ...entry.record }));
    return 0;
  }
  const lines = stories.all().flatMap(formatStory);
  if (lines.length === 0) lines.push(...formatCall(entries));
  io.out([...lines, '', ...entries.map(formatEntry)].join('\n'));
  return 0;
}

function formatCall(entries: readonly TrailEntry[]): string[] {
  const decided = entries.find((e) => e.event?.event === 'call.decided')?.event;
  if (decided?.event !== 'call.decided') return [`Call ${visible(callIdOf(entries[0]!.event!) ?? '')}`];
  return [
    visible(`Call ${decided.callId}: ${decided.caller.id} called ${decided.server}/${decided.tool}`),
    visible(`  decided: ${describeEvent(decided)}`),
  ];
}

function formatStory(story: ApprovalStory): string[] {
  const r = story.requested;
  const lines = [
    visible(
      `Approval ${story.approvalId}: ${story.server ?? '?'}/${story.tool ?? '?'}` +
        (story.callId ? ` (call ${story.callId})` : ''),
    ),
  ];
  if (r) {
    lines.push(
      visible(
        `  requested: ${r.time} by ${r.caller.id}${r.caller.groups.length ? ` (${r.caller.groups.join(', ')})` : ''} ` +
          `over ${r.caller.transport}${r.caller.client ? `, client ${r.caller.client.name} ${r.caller.client.version}` : ''}`,
      ),
      visible(`  rules: ${r.rules.join(', ') || '(default)'} under policy ${r.policyVersion}: ${r.reason}`),
      visible(`  needs: ${r.quorum} of ${r.approvers.join(', ')}, before ${r.expiresAt}`),
      visible(`  arguments: ${safeJson(r.arguments.value)}`) +
        (r.arguments.redacted.length ? ` (redacted: ${visible(r.arguments.redacted.join(', '))})` : ''),
      `  arguments digest: ${r.arguments.digest}`,
    );
  } else {
    lines.push('  (the log holds no approval.requested record for it)');
  }
  for (const d of story.deliveries) {
    lines.push(
      visible(
        `  delivered: ${d.time} to ${d.channel}${d.target ? ` (${d.target})` : ''}: ${d.ok ? 'ok' : `FAILED ${d.error ?? ''}`}`,
      ),
    );
  }
  const decisions = [
    ...story.decisions.map((d) => ({
      seq: d.seq,
      text:
        `  ${d.verdict === 'approve' ? 'approved' : 'rejected'}: ${d.at} by ${d.approver.id} via ${d.channel}` +
        `${d.reason ? `: ${d.reason}` : ''} (then ${d.state})`,
    })),
    ...story.refusals.map((f) => ({
      seq: f.seq,
      text: `  refused: ${f.time} ${f.approver.id} tried to ${f.verdict} via ${f.channel}: ${f.code} (${f.message})`,
    })),
  ].sort((a, b) => a.seq - b.seq);
  lines.push(...decisions.map((d) => visible(d.text)));
  lines.push(
    visible(
      `  outcome: ${story.end}${story.endTime ? ` at ${story.endTime}` : ''}${story.endDetail ? `: ${story.endDetail}` : ''}`,
    ),
  );
  return lines;
}

export async function auditTail(
  flags: LocationFlags & { lines?: string; follow?: boolean; json?: boolean },
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const { dir } = auditLocation(flags);
  const count = Number(flags.lines ?? 10);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new GatehouseError('USAGE', `--lines ${flags.lines}: give a number of records`);
  }
  const print = (entry: TrailEntry) =>
    io.out(flags.json ? safeJson({ seq: entry.seq, time: entry.time, ...entry.record }) : formatEntry(entry));
  const last: TrailEntry[] = [];
  let next = 0;
  for await (const entry of readTrail(dir)) {
    next = entry.seq + 1;
    if (count === 0) continue;
    last.push(entry);
    if (last.length > count) last.shift();
  }
  last.forEach(print);
  if (!flags.follow) return 0;
  for await (const entry of followTrail(dir, { from: next, ...(signal && { signal }) })) print(entry);
  return 0;
}
