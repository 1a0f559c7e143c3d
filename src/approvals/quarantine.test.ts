import { describe, expect, it } from 'vitest';
import { sampleRequest, T0 } from '../../test/store/helpers.js';
import { screenRecords } from './quarantine.js';

describe('screenRecords', () => {
  it('keeps requests that parse and match their digest, in order', () => {
    const requests = [sampleRequest(1), sampleRequest(2)];
    expect(screenRecords(requests, T0)).toEqual({ valid: requests, quarantined: [] });
  });

  it('sets aside anything else as found, named by its id or its place, never taking an id twice', () => {
    const tampered = { ...sampleRequest(1), caller: { id: 'mallory', groups: [] } };
    const records = [null, 'text', { id: '' }, tampered, { id: 'req-1', state: 'pending' }];
    const { valid, quarantined } = screenRecords(records, T0, new Set(['record-2']));
    expect(valid).toEqual([]);
    expect(quarantined.map((q) => [q.id, q.problem.code])).toEqual([
      ['record-1', 'RECORD_INVALID'],
      ['record-2~2', 'RECORD_INVALID'],
      ['record-3', 'RECORD_INVALID'],
      // Two records claim req-1: the invalid one and the tampered one; each keeps its first problem.
      ['req-1', 'DIGEST_MISMATCH'],
      ['req-1~2', 'RECORD_INVALID'],
    ]);
    expect(quarantined.map((q) => q.record)).toEqual(records);
    expect(quarantined.every((q) => q.quarantinedAt === T0.toISOString())).toBe(true);
  });
});
