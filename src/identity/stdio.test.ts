import { userInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { IdentitySchema } from '../config/schema.js';
import { resolveStdioCaller } from './stdio.js';

describe('the stdio caller', () => {
  it('is the configured user with its groups', () => {
    const identity = IdentitySchema.parse({ user: 'alice', groups: ['ops'] });
    expect(resolveStdioCaller(identity)).toEqual({ id: 'alice', groups: ['ops'] });
  });

  it('defaults to the OS user, with no groups', () => {
    expect(resolveStdioCaller(IdentitySchema.parse({}))).toEqual({ id: userInfo().username, groups: [] });
  });
});
