import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../../errors.js';
import { MINIMUM_SERVER_VERSION_NUM, checkServerVersion, versionName } from './serverVersion.js';

const store = 'postgres://gatehouse@db.internal:5432/gatehouse';

function refusal(versionNum: number): Error {
  try {
    checkServerVersion(versionNum, store);
  } catch (error) {
    if (isGatehouseError(error, 'STORE_SERVER_UNSUPPORTED')) return error;
    throw error;
  }
  throw new Error(`PostgreSQL ${versionNum} was accepted`);
}

describe('the PostgreSQL server version check', () => {
  it('accepts PostgreSQL 13 and later', () => {
    expect(MINIMUM_SERVER_VERSION_NUM).toBe(130000);
    for (const version of [130000, 130016, 140000, 160004, 170002, 180000]) {
      expect(() => checkServerVersion(version, store)).not.toThrow();
    }
  });

  it('refuses anything older, naming the store, the version found and the version needed', () => {
    for (const [version, name] of [
      [129999, '12.9999'],
      [120017, '12.17'],
      [110022, '11.22'],
      [100023, '10.23'],
      [90624, '9.6.24'],
    ] as const) {
      const error = refusal(version);
      expect(error.message).toBe(
        `${store}: the server is PostgreSQL ${name}; Gatehouse needs PostgreSQL 13 or later. ` +
          'Upgrade the server, or use the file store (a path in approvals.store) on one machine.',
      );
    }
  });

  it('refuses a server whose version is not a number', () => {
    for (const version of [Number.NaN, 130000.5]) {
      expect(refusal(version).message).toBe(
        `${store}: the server did not give its version as a number (server_version_num); ` +
          'Gatehouse needs PostgreSQL 13 or later. Upgrade the server, or use the file store ' +
          '(a path in approvals.store) on one machine.',
      );
    }
  });

  it('names versions as PostgreSQL does', () => {
    expect(versionName(160004)).toBe('16.4');
    expect(versionName(130000)).toBe('13.0');
    expect(versionName(90624)).toBe('9.6.24');
  });
});
