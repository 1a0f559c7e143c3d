import { describe, expect, it } from 'vitest';
import { withoutTeamsOnly } from './schemas.js';

describe("Microsoft's pinned schemas", () => {
  it('are checked after taking off the Teams-only msteams property, wherever it sits', () => {
    const card = {
      type: 'AdaptiveCard',
      msteams: { width: 'Full' },
      actions: [{ card: { msteams: {}, body: [] } }],
    };
    expect(withoutTeamsOnly(card)).toEqual({ type: 'AdaptiveCard', actions: [{ card: { body: [] } }] });
  });
});
