import { GatehouseError } from '../../errors.js';

/**
 * The oldest PostgreSQL the schema runs on: 13, whose `xid8` type and `pg_current_xact_id()` stamp
 * each revision for the change feed (migration 7). Checked at connect, before migrating, so an older
 * server is refused with what was found and what is needed, not with a type error half-way through.
 */
export const MINIMUM_SERVER_VERSION_NUM = 130000;

/** `server_version_num` (e.g. 120017, 160004) as people say it: "12.17", "16.4"; "9.6.24" before 10. */
export function versionName(versionNum: number): string {
  const major = Math.floor(versionNum / 10000);
  if (major >= 10) return `${major}.${versionNum % 10000}`;
  return `${major}.${Math.floor(versionNum / 100) % 100}.${versionNum % 100}`;
}

/**
 * Refuses a server older than MINIMUM_SERVER_VERSION_NUM, or one whose version cannot be read (NaN:
 * not PostgreSQL, or something that answers like it), naming the store (`name`, without its password).
 */
export function checkServerVersion(versionNum: number, name: string): void {
  if (Number.isInteger(versionNum) && versionNum >= MINIMUM_SERVER_VERSION_NUM) return;
  const needed = versionName(MINIMUM_SERVER_VERSION_NUM).replace(/\.0$/, '');
  const found = Number.isInteger(versionNum)
    ? `the server is PostgreSQL ${versionName(versionNum)}`
    : 'the server did not give its version as a number (server_version_num)';
  throw new GatehouseError(
    'STORE_SERVER_UNSUPPORTED',
    `${name}: ${found}; Gatehouse needs PostgreSQL ${needed} or later. Upgrade the server, ` +
      'or use the file store (a path in approvals.store) on one machine.',
    { store: name, ...(Number.isInteger(versionNum) ? { serverVersionNum: versionNum } : {}) },
  );
}
