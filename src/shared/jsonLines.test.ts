import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readJsonRpcLines, type InvalidLine } from './jsonLines.js';

function reader() {
  const input = new PassThrough();
  const messages: unknown[] = [];
  const invalid: InvalidLine[] = [];
  readJsonRpcLines(
    input,
    (m) => messages.push(m),
    (i) => invalid.push(i),
  );
  const ended = new Promise((resolve) => input.once('end', resolve));
  return { input, messages, invalid, end: () => (input.end(), ended) };
}

const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });

describe('readJsonRpcLines', () => {
  it('reads one message a line, whatever the chunks: lines split across chunks, several in one', async () => {
    const text = `${JSON.stringify(ping(1))}\n${JSON.stringify(ping(2))}\r\n\n  \n${JSON.stringify(ping(3))}\n`;
    const bytes = Buffer.from(text);
    for (const size of [1, 7, 40, bytes.length]) {
      const r = reader();
      for (let i = 0; i < bytes.length; i += size) r.input.write(bytes.subarray(i, i + size));
      await r.end();
      expect(r.messages).toEqual([ping(1), ping(2), ping(3)]);
      expect(r.invalid).toEqual([]);
    }
  });

  it('decodes a multi-byte character split between chunks', async () => {
    const r = reader();
    const message = { jsonrpc: '2.0', method: 'notifications/message', params: { text: 'grüße 👋' } };
    const bytes = Buffer.from(`${JSON.stringify(message)}\n`);
    const inEmoji = bytes.indexOf(0xf0) + 2;
    r.input.write(bytes.subarray(0, inEmoji));
    r.input.write(bytes.subarray(inEmoji));
    await r.end();
    expect(r.messages).toEqual([message]);
  });

  it('reads a last line without a newline at the end of the stream', async () => {
    const r = reader();
    r.input.write(JSON.stringify(ping(7)));
    expect(r.messages).toEqual([]);
    await r.end();
    expect(r.messages).toEqual([ping(7)]);
  });

  it('reports lines that are not JSON, or not JSON-RPC, with the id to answer, and goes on', async () => {
    const r = reader();
    r.input.write('{not json\n{"jsonrpc":"1.0","id":4,"method":"x"}\n[1]\n');
    r.input.write(`${JSON.stringify(ping(5))}\n`);
    await r.end();
    expect(r.invalid).toEqual([
      { line: '{not json', kind: 'parse' },
      { line: '{"jsonrpc":"1.0","id":4,"method":"x"}', kind: 'invalid', id: 4 },
      { line: '[1]', kind: 'invalid', id: null },
    ]);
    expect(r.messages).toEqual([ping(5)]);
  });
});
