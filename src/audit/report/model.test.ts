import { describe, expect, it } from 'vitest';
import { at, sampleEntries } from '../eventkit.js';
import { parsePeriod } from '../period.js';
import { median, percentile, reportBuilder } from './model.js';

/** The report's numbers from the sample trail (src/audit/eventkit.ts), counted by hand. */

function build(flags: { since?: string; until?: string } = {}) {
  const builder = reportBuilder(parsePeriod(flags));
  for (const entry of sampleEntries()) builder.add(entry);
  return builder.finish(undefined, new Date(at(1000)));
}

describe('the evidence report model', () => {
  it('counts calls by decision, with shadow decisions apart', () => {
    const model = build();
    // allow: c-read; deny: the hostile tool; approve: the six approval flows; shadow: c-shadow.
    expect(model.decisions).toEqual({ allow: 1, deny: 1, approve: 6, shadow: 1 });
    expect(model.shadow).toEqual({ allow: 0, deny: 0, approve: 1 });
  });

  it('lists every approved call with its approvers and outcome, and the requests that did not run', () => {
    const model = build();
    expect(model.privileged.map((r) => [r.approvalId, r.end])).toEqual([
      ['a-exec', 'executed'],
      ['a-fail', 'failed'],
      ['a-unknown', 'unknown'],
    ]);
    expect(model.privileged[0]!.decisions.map((d) => [d.approver, d.at])).toEqual([
      ['bob', at(11)],
      ['carol', at(13)],
    ]);
    expect(model.privileged[0]!.requester).toEqual({ id: 'alice', groups: ['dev'] });
    expect(model.refused.map((r) => [r.approvalId, r.end])).toEqual([
      ['a-reject', 'rejected'],
      ['a-expire', 'expired'],
      ['a-cancel', 'cancelled'],
      ['a-quarantine', 'quarantined'],
    ]);
  });

  it('counts refused self-approvals apart from other refusals', () => {
    const model = build();
    expect(model.refusals.map((r) => [r.approvalId, r.code, r.requester])).toEqual([
      ['a-exec', 'APPROVER_IS_REQUESTER', 'alice'],
      ['a-expire', 'APPROVAL_EXPIRED', 'alice'],
    ]);
    expect(model.selfApprovals).toBe(1);
  });

  it('measures request to decision: 3, 20, 30 and 300 minutes; median 25 min, p90 300 min', () => {
    const ttd = build().timeToDecision;
    expect(ttd.samples).toEqual([3, 20, 30, 300].map((m) => m * 60_000));
    expect(ttd.medianMs).toBe(25 * 60_000);
    expect(ttd.p90Ms).toBe(300 * 60_000);
    expect(ttd.buckets.map((b) => b.count)).toEqual([0, 1, 0, 2, 0, 1, 0]);
  });

  it('names the policy version in force when the period began, and those loaded during it', () => {
    expect(build().policies.map((p) => [p.version, p.how])).toEqual([
      ['v1', 'loaded'],
      ['v2', 'loaded'],
    ]);
    const later = build({ since: at(100) });
    expect(later.policies.map((p) => [p.version, p.how])).toEqual([
      ['v1', 'in force at the start'],
      ['v2', 'loaded'],
    ]);
    expect(later.policyRejections).toHaveLength(1);
  });

  it('keeps to the period: an approval counts when any of its records falls in it', () => {
    // 10:00 to 10:01: a-unknown's request (its decision and request records); nothing decided.
    const model = build({ since: at(60), until: at(61) });
    expect(model.records.count).toBe(2);
    expect(model.decisions).toEqual({ allow: 0, deny: 0, approve: 1, shadow: 0 });
    expect(model.privileged.map((r) => r.approvalId)).toEqual(['a-unknown']);
    expect(model.timeToDecision.samples).toEqual([]);
    expect(model.selfApprovals).toBe(0);
  });
});

describe('median and percentile', () => {
  it('take the mean of the middle two for an even count, and the nearest rank for p90', () => {
    expect(median([1, 2, 3, 10])).toBe(2.5);
    expect(median([1, 2, 3])).toBe(2);
    expect(median([])).toBeUndefined();
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([5], 90)).toBe(5);
  });
});
