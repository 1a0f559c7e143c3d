import { describe, expect, it } from 'vitest';
import { approverStateContract } from '../../../test/store/approverStateContract.js';
import { memoryApproverState } from './approverState.js';
import { tokensMatch } from './csrf.js';

describe('approver state in memory: sessions, API tokens, failed sign-ins', () => {
  approverStateContract(async (limits) => memoryApproverState(limits));
});

describe('csrf tokens', () => {
  it('match only the same token', () => {
    expect(tokensMatch('abc', 'abc')).toBe(true);
    expect(tokensMatch('abc', 'abd')).toBe(false);
    expect(tokensMatch('abc', 'abcd')).toBe(false);
    expect(tokensMatch('abc', '')).toBe(false);
    expect(tokensMatch('abc', null)).toBe(false);
  });
});
