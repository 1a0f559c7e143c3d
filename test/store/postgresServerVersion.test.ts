import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { PostgresSettingsSchema } from '../../src/store/postgres/options.js';
import { openPostgresStore } from '../../src/store/postgres/store.js';
import { refusal } from './helpers.js';

/**
 * A server that speaks just enough of PostgreSQL's wire protocol to let a client in (no password
 * asked) and answer every simple query with one text row, `server_version_num` of PostgreSQL 12.17.
 * It keeps the queries it was sent: the store must ask for the version and stop there.
 */
function oldPostgres(versionNum: string) {
  const queries: string[] = [];
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const int16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const ready = message('Z', Buffer.from('I'));
  const row = (value: string) =>
    Buffer.concat([
      message(
        'T',
        Buffer.concat([
          int16(1),
          Buffer.from('version\0'),
          int32(0),
          int16(0),
          int32(25), // text
          int16(-1),
          int32(-1),
          int16(0),
        ]),
      ),
      message('D', Buffer.concat([int16(1), int32(Buffer.byteLength(value)), Buffer.from(value)])),
      message('C', Buffer.from('SELECT 1\0')),
      ready,
    ]);
  const server: Server = createServer((socket) => {
    let pending = Buffer.alloc(0);
    let started = false;
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        if (!started) {
          if (pending.length < 4) return;
          const length = pending.readInt32BE(0);
          if (pending.length < length) return;
          pending = pending.subarray(length);
          started = true;
          socket.write(Buffer.concat([message('R', int32(0)), ready]));
          continue;
        }
        if (pending.length < 5) return;
        const type = String.fromCharCode(pending[0]!);
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) return;
        const body = pending.subarray(5, 1 + length);
        pending = pending.subarray(1 + length);
        if (type === 'X') return void socket.end();
        if (type === 'Q') {
          queries.push(body.toString('utf8').replace(/\0$/, ''));
          socket.write(row(versionNum));
        }
      }
    });
  });
  return {
    queries,
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let fake: ReturnType<typeof oldPostgres> | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('PostgreSQL store: the server version', () => {
  it('refuses PostgreSQL 12 at connect, before migrating, naming the store without its password', async () => {
    fake = oldPostgres('120017');
    const port = await fake.listen();
    const settings = PostgresSettingsSchema.parse({ schema: 'gatehouse', tls: { mode: 'disable' } });
    const error = await refusal(
      openPostgresStore({
        url: `postgres://gatehouse:s3cret-pw@127.0.0.1:${port}/approvals`,
        settings,
        logger: silentLogger,
      }),
    );
    expect(error.code).toBe('STORE_SERVER_UNSUPPORTED');
    expect(error.message).toBe(
      `postgres://gatehouse@127.0.0.1:${port}/approvals: the server is PostgreSQL 12.17; Gatehouse needs ` +
        'PostgreSQL 13 or later. Upgrade the server, or use the file store (a path in approvals.store) ' +
        'on one machine.',
    );
    expect(JSON.stringify(error)).not.toContain('s3cret-pw');
    expect(fake.queries).toEqual(["SELECT current_setting('server_version_num') AS version"]);
  });
});
