import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../errors.js';
import { putApproverAccount } from './edit.js';

const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-edit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = {
  $schema: './config.schema.json',
  mcpServers: { api: { url: 'https://example.com/mcp', headers: { Authorization: 'Bearer ${API_TOKEN}' } } },
  approvers: { accounts: [{ id: 'bob', groups: ['ops'], passwordHash: 'old' }], sessionTtlMs: 60_000 },
};

describe('putApproverAccount', () => {
  it('adds an account, and replaces one with the same id, leaving the rest as written (${VAR}s too)', () => {
    const file = path.join(dir, 'mcp.config.json');
    writeFileSync(file, JSON.stringify(config));
    chmodSync(file, 0o600);
    expect(putApproverAccount(file, { id: 'reviewer', groups: ['developers'], passwordHash: 'h1' })).toBe(
      'added',
    );
    expect(putApproverAccount(file, { id: 'bob', groups: ['security'], passwordHash: 'h2' })).toBe(
      'replaced',
    );
    const written = JSON.parse(readFileSync(file, 'utf8')) as typeof config;
    expect(written).toEqual({
      ...config,
      approvers: {
        accounts: [
          { id: 'bob', groups: ['security'], passwordHash: 'h2' },
          { id: 'reviewer', groups: ['developers'], passwordHash: 'h1' },
        ],
        sessionTtlMs: 60_000,
      },
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('creates the approvers block of a config that has none', () => {
    const file = path.join(dir, 'bare.json');
    writeFileSync(file, '{"mcpServers": {}}');
    putApproverAccount(file, { id: 'reviewer', groups: [], passwordHash: 'h' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      mcpServers: {},
      approvers: { accounts: [{ id: 'reviewer', groups: [], passwordHash: 'h' }] },
    });
  });

  it('refuses a file that is missing, not JSON, or shaped otherwise, and writes nothing', () => {
    const account = { id: 'r', groups: [], passwordHash: 'h' };
    const refused = (file: string) => {
      try {
        putApproverAccount(file, account);
      } catch (error) {
        return error as GatehouseError;
      }
      throw new Error('accepted');
    };
    expect(refused(path.join(dir, 'missing.json')).code).toBe('CONFIG_NOT_FOUND');
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"approvers": ');
    expect(refused(broken).code).toBe('CONFIG_INVALID');
    const shaped = path.join(dir, 'shaped.json');
    writeFileSync(shaped, '{"approvers": {"accounts": {}}}');
    expect(refused(shaped).message).toContain('$.approvers.accounts: expected a list');
    expect(readFileSync(shaped, 'utf8')).toBe('{"approvers": {"accounts": {}}}');
  });
});
