import { describe, expect, it } from 'vitest';
import { formatPrettyLine, prettyDestination } from './prettyLog.js';

const plain = { colors: false, width: 100 };
const at = new Date(2026, 0, 2, 9, 5, 7).getTime();
const line = (entry: Record<string, unknown>) =>
  JSON.stringify({ level: 30, time: at, pid: 1, name: 'gatehouse', ...entry });

describe('formatPrettyLine', () => {
  it('shows time, level, the subject as a tag, the message and the other fields; never pid or name', () => {
    expect(
      formatPrettyLine(
        line({ server: 'fs', transport: 'stdio', tools: 14, msg: 'downstream connected' }),
        plain,
      ),
    ).toBe('09:05:07 INFO  [fs] downstream connected  transport=stdio tools=14\n');
  });

  it('puts fields that do not fit on a line of their own, and parts of the message after "; " too', () => {
    const text = formatPrettyLine(
      line({
        url: 'http://127.0.0.1:8787/mcp',
        servers: ['fs:ready', 'memory:ready'],
        msg: 'Gatehouse ready: connect to http://127.0.0.1:8787/mcp; approve gated calls at http://127.0.0.1:8787/approvals',
      }),
      { colors: false, width: 60 },
    );
    expect(text.split('\n')).toEqual([
      '09:05:07 INFO  Gatehouse ready: connect to http://127.0.0.1:8787/mcp',
      '               approve gated calls at http://127.0.0.1:8787/approvals',
      // The URL the message already says is not repeated.
      '               servers=[fs:ready, memory:ready]',
      '',
    ]);
  });

  it('colours the level when asked, and only then', () => {
    const warn = JSON.stringify({ level: 40, time: at, msg: 'careful' });
    expect(formatPrettyLine(warn, { colors: true, width: 100 })).toContain('\u001b[33mWARN \u001b[0m');
    expect(formatPrettyLine(warn, plain)).not.toContain('\u001b[');
  });

  it('shows an error as its type and message, without the stack', () => {
    const text = formatPrettyLine(
      line({
        level: 50,
        err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
        msg: 'failed',
      }),
      plain,
    );
    expect(text).toBe('09:05:07 ERROR failed  err="Error: boom"\n');
  });

  it('passes a line that is not a JSON object unchanged', () => {
    expect(formatPrettyLine('not json', plain)).toBe('not json');
    expect(formatPrettyLine('[1,2]', plain)).toBe('[1,2]');
  });

  it('as a destination, writes one pretty line per JSON line', () => {
    const written: string[] = [];
    const destination = prettyDestination({ write: (t: string) => written.push(t) }, () => plain);
    destination.write(`${line({ msg: 'one' })}\n${line({ msg: 'two' })}\n`);
    expect(written).toEqual(['09:05:07 INFO  one\n', '09:05:07 INFO  two\n']);
  });
});
