import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SLACK_MANIFEST_SCHEMA_FILE } from './slack/manifest.js';
import { ADAPTIVE_CARD_SCHEMA_FILE, MANIFEST_SCHEMA_FILE } from './teams/schemas.js';

const dir = new URL('../../../fixtures/schemas/', import.meta.url);

describe('the pinned published schemas', () => {
  it('are byte for byte the copies fixtures/schemas/SHA256SUMS names, and all of them', () => {
    const sums = readFileSync(new URL('SHA256SUMS', dir), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/));
    expect(sums.map(([, file]) => file).sort()).toEqual(
      [ADAPTIVE_CARD_SCHEMA_FILE, MANIFEST_SCHEMA_FILE, SLACK_MANIFEST_SCHEMA_FILE].sort(),
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
});
