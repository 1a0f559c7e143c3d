import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { createRedactor } from './index.js';

describe('audit.redact in the config', () => {
  const config = (redact: unknown) => JSON.stringify({ mcpServers: {}, audit: { redact } }, null, 2);

  it('refuses a bad JSON path when the config is read, with file, line, column and the path', () => {
    const text = config({ paths: ['$.ok', '$.a[1:2]'] });
    expect(() => parseConfig(text, '/etc/gatehouse.json')).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(
          /^\/etc\/gatehouse\.json:7:\d+: \$\.audit\.redact\.paths\[1\]: slices \[a:b\] are not supported \(column 6\)/,
        ),
      }),
    );
  });

  it('defaults to the built-in names and detection, and builds a redactor as it stands', () => {
    const parsed = parseConfig(config({ names: ['ssn'], paths: ['$..ref'] }), '/etc/gatehouse.json');
    expect(parsed.audit.redact).toEqual({
      names: ['ssn'],
      paths: ['$..ref'],
      detect: true,
      maxScanChars: 1_048_576,
      maxDepth: 64,
    });
    const { value } = createRedactor(parsed.audit.redact).redactArguments({
      ssn: 1,
      a: { ref: 2 },
      token: 3,
    });
    expect(value).toEqual({ ssn: '[REDACTED]', a: { ref: '[REDACTED]' }, token: '[REDACTED]' });
  });
});
