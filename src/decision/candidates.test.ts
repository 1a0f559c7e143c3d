import { describe, expect, it } from 'vitest';
import { approversFor } from './candidates.js';
import { compileOrThrow } from './testkit.js';

const set = compileOrThrow(`
rules:
  - id: fs-writes
    match: { servers: fs, tools: write_file }
    effect: approve
    approvers: [group:developers, alice]
  - id: db-exports
    match: { servers: db }
    effect: approve
    approvers: [group:data-owners]
  - id: reads
    match: { servers: fs, tools: read_file }
    effect: allow
`);

describe('approversFor', () => {
  it('names whom the approve rules for these tools ask, and no rule written for other servers', () => {
    const tools = [
      { server: 'fs', tool: 'write_file' },
      { server: 'fs', tool: 'read_file' },
    ];
    expect(approversFor(set, tools)).toEqual(['alice', 'group:developers']);
  });

  it('is empty when no approve rule applies', () => {
    expect(approversFor(set, [{ server: 'fs', tool: 'read_file' }])).toEqual([]);
    expect(approversFor(set, [])).toEqual([]);
  });
});
