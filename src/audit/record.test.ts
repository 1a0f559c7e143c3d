import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalRecord, formatLine, GENESIS_PREV, isLineProblem, parseLine } from './record.js';

const records = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 6 });
const times = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

describe('audit lines', () => {
  it('are the RFC 8785 canonical JSON of the whole line, and read back as written', () => {
    fc.assert(
      fc.property(
        records,
        fc.nat(),
        times,
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (record, seq, time, prev) => {
          const line = formatLine(prev, canonicalRecord(record, 1 << 20), seq, time);
          expect(line).toBe(canonicalize(JSON.parse(line)));
          const parsed = parseLine(Buffer.from(line), true);
          expect(isLineProblem(parsed)).toBe(false);
          expect(parsed).toEqual({
            prev: Buffer.from(prev).toString('hex'),
            record: JSON.parse(canonicalRecord(record, 1 << 20)),
            seq,
            time,
          });
        },
      ),
    );
  });

  it('refuse what is not a canonical audit line, saying which seq it claims', () => {
    const good = formatLine(Buffer.alloc(32), '{"a":1}', 5, '2026-01-01T00:00:00.000Z');
    expect(parseLine(Buffer.from(good), true)).toMatchObject({ seq: 5, prev: GENESIS_PREV });
    const spaced = good.replace('"a":1', '"a": 1');
    expect(parseLine(Buffer.from(spaced), true)).toEqual({
      detail: 'the line is not in RFC 8785 canonical form',
      seq: 5,
    });
    // Start-up does not pay for the canonical check; the hash covers the bytes anyway.
    expect(isLineProblem(parseLine(Buffer.from(spaced), false))).toBe(false);
    expect(parseLine(Buffer.from(good.replace('"seq":5', '"seq":-5')), false)).toMatchObject({
      detail: expect.stringContaining('seq'),
    });
    expect(parseLine(Buffer.from(good.replace('"a":1}', '"a":1},"x":1')), false)).toMatchObject({ seq: 5 });
    for (const time of [
      '2026-02-30T00:00:00.000Z',
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00.000+01:00',
    ]) {
      expect(parseLine(Buffer.from(good.replace('2026-01-01T00:00:00.000Z', time)), false)).toMatchObject({
        detail: expect.stringContaining('time'),
        seq: 5,
      });
    }
    expect(parseLine(Buffer.from(good.replace('"prev":"0', '"prev":"A')), false)).toMatchObject({ seq: 5 });
    expect(parseLine(Buffer.from(good.replace('{"a":1}', '[1]')), false)).toMatchObject({ seq: 5 });
    expect(parseLine(Buffer.from('{"prev":'), false)).toEqual({ detail: 'the line is not JSON' });
    expect(parseLine(Buffer.from([0x7b, 0xff, 0x7d]), false)).toEqual({
      detail: 'the line is not valid UTF-8',
    });
  });
});
