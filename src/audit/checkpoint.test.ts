import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from './checkpoint.js';
import { leafHash } from './merkle.js';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from './note.js';

const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';

/** golang.org/x/mod/sumdb/tlog TestFormatTree / TestParseTree: the same three-line tree head. */
const GO_TREE = 'go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n';
/** The example of c2sp.org/tlog-checkpoint. */
const C2SP_EXAMPLE = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

function reason(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    if (error instanceof GatehouseError) return error.context.reason;
    throw error;
  }
  return undefined;
}

describe('checkpoint bodies', () => {
  it('formats the Go tree head vector byte for byte', () => {
    const checkpoint = {
      origin: 'go.sum database tree',
      size: 123456789012,
      rootHash: leafHash('hello world'),
      extensions: [],
    };
    expect(formatCheckpoint(checkpoint)).toBe(GO_TREE);
    expect(parseCheckpoint(GO_TREE)).toEqual(checkpoint);
  });

  it('reads the spec example and round-trips extension lines', () => {
    const parsed = parseCheckpoint(C2SP_EXAMPLE);
    expect(parsed).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(formatCheckpoint(parsed)).toBe(C2SP_EXAMPLE);
    const extended = `${C2SP_EXAMPLE}ext one\next two\n`;
    expect(parseCheckpoint(extended).extensions).toEqual(['ext one', 'ext two']);
    expect(formatCheckpoint(parseCheckpoint(extended))).toBe(extended);
  });

  it('refuses every malformed body', () => {
    const bad = [
      '\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n',
      'go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n',
      'go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n',
      'origin\n012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n',
      'origin\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n',
      'origin\n99999999999999999999\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n',
      'origin\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=',
      'origin\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n',
      'origin\n1\nAAAA\n',
      'origin\n1\n',
    ];
    for (const text of bad)
      expect(
        reason(() => parseCheckpoint(text)),
        JSON.stringify(text),
      ).toBe('malformed-checkpoint');
    const good = parseCheckpoint(GO_TREE);
    expect(reason(() => formatCheckpoint({ ...good, origin: 'a\n5' }))).toBe('malformed-checkpoint');
    expect(reason(() => formatCheckpoint({ ...good, extensions: [''] }))).toBe('malformed-checkpoint');
  });
});

describe('signed checkpoints', () => {
  it('signs with a note key and opens with its verifier key, for its own origin only', () => {
    const checkpoint = { ...parseCheckpoint(GO_TREE), origin: 'PeterNeumann' };
    const signed = signCheckpoint(checkpoint, parseSignerKey(PETER_SKEY));
    expect(signed.note.startsWith(`${formatCheckpoint(checkpoint)}\n— PeterNeumann `)).toBe(true);
    expect(signed.signatures).toEqual([expect.objectContaining({ name: 'PeterNeumann', keyId: 0xc74f20a3 })]);
    const opened = openCheckpoint(signed.note, [parseVerifierKey(PETER_VKEY)], 'PeterNeumann');
    expect(opened.checkpoint).toEqual(checkpoint);
    expect(
      reason(() => openCheckpoint(signed.note, [parseVerifierKey(PETER_VKEY)], 'other.example/log')),
    ).toBe('other-origin');
    // Signed with another key of the same name: not verifiable with Peter's.
    const other = signCheckpoint(checkpoint, parseSignerKey(generateNoteKey('PeterNeumann').signerKey));
    expect(reason(() => openCheckpoint(other.note, [parseVerifierKey(PETER_VKEY)]))).toBe('unverified');
  });
});
