import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import { GatehouseError, describeError } from '../../errors.js';
import type { PostgresSettings } from './options.js';

/**
 * From `approvals.store` (a postgres:// URL, its password expanded from ${VAR}) and
 * `approvals.postgres` to a pool, and to a name for messages that never carries the password.
 */

export interface Connection {
  /** postgres://user@host:port/database: what logs and errors call the store. */
  name: string;
  config: pg.PoolConfig;
}

export function connectionOf(url: string, settings: PostgresSettings): Connection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('approvals.store is not a valid postgres:// URL');
  }
  const host = decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, '$1');
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
  const user = decodeURIComponent(parsed.username) || 'postgres';
  const name = `postgres://${user}@${parsed.host}/${database}`;
  // The URL's own TLS parameters (sslmode and friends) would quietly override approvals.postgres.tls.
  const parameters = [...parsed.searchParams.keys()];
  if (parameters.length > 0) {
    throw invalid(
      `${name}: the URL's parameters (${parameters.join(', ')}) are not read; set TLS in approvals.postgres.tls`,
    );
  }
  if (!host) throw invalid('approvals.store: the postgres:// URL names no host');
  return {
    name,
    config: {
      host,
      port: parsed.port ? Number(parsed.port) : 5432,
      user,
      password: decodeURIComponent(parsed.password),
      database,
      max: settings.poolSize,
      ssl: tlsOf(settings.tls, host),
      // Unqualified names are Gatehouse's tables, whatever else the database holds.
      options: `-c search_path=${settings.schema}`,
      application_name: 'gatehouse',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    },
  };
}

function tlsOf(tls: PostgresSettings['tls'], host: string): false | ConnectionOptions {
  if (tls.mode === 'disable') return false;
  const read = (file: string | undefined, what: string) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw invalid(`approvals.postgres.tls.${what}: cannot read ${file} (${describeError(error)})`);
    }
  };
  const files = {
    ...(tls.ca ? { ca: read(tls.ca, 'ca') } : {}),
    ...(tls.cert ? { cert: read(tls.cert, 'cert') } : {}),
    ...(tls.key ? { key: read(tls.key, 'key') } : {}),
  };
  if (tls.mode === 'require') return { ...files, rejectUnauthorized: false };
  return { ...files, rejectUnauthorized: true, ...(isIP(host) ? {} : { servername: host }) };
}

function invalid(message: string): GatehouseError {
  return new GatehouseError('CONFIG_INVALID', message);
}
