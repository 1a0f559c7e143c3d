import { describe, expect, it } from 'vitest';
import {
  approverFromTeams,
  approverObjectIds,
  teamsAccountConflicts,
  type DirectoryPerson,
} from './identity.js';

const T = 'tenant-a';
const directory: DirectoryPerson[] = [
  {
    id: 'alice',
    groups: ['dev'],
    teams: { aadObjectId: 'AAAA0000-0000-0000-0000-000000000001', tenantId: T },
  },
  {
    id: 'bob',
    groups: ['security'],
    teams: { aadObjectId: 'bbbb0000-0000-0000-0000-000000000002', tenantId: T },
  },
  {
    id: 'carol',
    groups: ['security'],
    teams: { aadObjectId: 'cccc0000-0000-0000-0000-000000000003', tenantId: 'tenant-b' },
  },
  { id: 'dave', groups: ['security'] },
];

describe('Teams identities', () => {
  it('are the directory entry of the exact account and tenant, whatever the case of the GUID', () => {
    expect(
      approverFromTeams(directory, { aadObjectId: 'aaaa0000-0000-0000-0000-000000000001', tenantId: T }),
    ).toEqual({
      id: 'alice',
      groups: ['dev'],
    });
    expect(
      approverFromTeams(directory, { aadObjectId: 'cccc0000-0000-0000-0000-000000000003', tenantId: T }),
    ).toBeUndefined();
    expect(approverFromTeams(directory, { aadObjectId: undefined, tenantId: T })).toBeUndefined();
  });

  it('refresh the listed approvers of the tenant, never the requester', () => {
    expect(approverObjectIds(['group:security', 'user:alice'], 'alice', directory, T)).toEqual([
      'bbbb0000-0000-0000-0000-000000000002',
    ]);
    expect(approverObjectIds(['alice'], 'bob', directory, T)).toEqual([
      'aaaa0000-0000-0000-0000-000000000001',
    ]);
  });

  it('one Teams account given to two people is a conflict', () => {
    const twice = [
      ...directory,
      { id: 'eve', groups: [], teams: { aadObjectId: 'bbbb0000-0000-0000-0000-000000000002', tenantId: T } },
    ];
    expect(teamsAccountConflicts(directory)).toEqual([]);
    expect(teamsAccountConflicts(twice)).toEqual([
      { index: 4, message: 'this Teams account is also "bob"\'s: one account is one approver' },
    ]);
  });
});
