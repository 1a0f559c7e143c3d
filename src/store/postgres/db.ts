import type pg from 'pg';
import { GatehouseError, describeError, isGatehouseError } from '../../errors.js';

/**
 * The pool every query goes through: one place that turns a driver error into STORE_UNAVAILABLE
 * naming the store (never its password), and that refuses work once the store is closed.
 */
export interface Db {
  name: string;
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Runs `work` on one connection of its own (a transaction it runs itself, a session lock). */
  withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Runs `work` in one transaction (READ COMMITTED); rolls back when it throws. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function openDb(pool: pg.Pool, name: string): Db {
  let closed = false;
  const usable = () => {
    if (closed)
      throw new GatehouseError('STORE_UNAVAILABLE', `${name}: the store is closed`, { store: name });
  };
  // An idle connection that breaks (a restarted server) is dropped by the pool; without a listener
  // its error event would end the process.
  pool.on('error', () => undefined);
  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    usable();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw unavailable(name, error);
    }
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      // A connection whose rollback failed is in an unknown state: the pool drops it.
      if (!isGatehouseError(error) && error instanceof Error) broken = error;
      throw unavailable(name, error);
    } finally {
      client.release(broken);
    }
  }
  return {
    name,
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
      usable();
      try {
        return await pool.query<R>(sql, params);
      } catch (error) {
        throw unavailable(name, error);
      }
    },
    withClient,
    transaction: (work) =>
      withClient(async (client) => {
        await client.query('BEGIN');
        try {
          const value = await work(client);
          await client.query('COMMIT');
          return value;
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }),
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** A GatehouseError (a refusal decided in the transaction) as it is; anything else as STORE_UNAVAILABLE. */
export function unavailable(name: string, error: unknown): GatehouseError {
  if (isGatehouseError(error)) return error;
  return new GatehouseError(
    'STORE_UNAVAILABLE',
    `${name}: ${describeError(error)}`,
    { store: name },
    { cause: error },
  );
}

/** PostgreSQL's code for a unique constraint broken. */
export const UNIQUE_VIOLATION = '23505';
