import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADAPTIVE_CARD_SCHEMA_FILE, MANIFEST_SCHEMA_FILE, withoutTeamsOnly } from './schemas.js';

const dir = new URL('../../../../fixtures/schemas/', import.meta.url);

describe("Microsoft's pinned schemas", () => {
  it('are byte for byte the copies fixtures/schemas/SHA256SUMS names', () => {
    const sums = readFileSync(new URL('SHA256SUMS', dir), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/));
    expect(sums.map(([, file]) => file).sort()).toEqual(
      [ADAPTIVE_CARD_SCHEMA_FILE, MANIFEST_SCHEMA_FILE].sort(),
    );
    for (const [sum, file] of sums) {
      expect(
        createHash('sha256')
          .update(readFileSync(new URL(file!, dir)))
          .digest('hex'),
        file,
      ).toBe(sum);
    }
  });

  it('are checked after taking off the Teams-only msteams property, wherever it sits', () => {
    const card = {
      type: 'AdaptiveCard',
      msteams: { width: 'Full' },
      actions: [{ card: { msteams: {}, body: [] } }],
    };
    expect(withoutTeamsOnly(card)).toEqual({ type: 'AdaptiveCard', actions: [{ card: { body: [] } }] });
  });
});
