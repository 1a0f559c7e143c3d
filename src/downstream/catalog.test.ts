import { describe, expect, it } from 'vitest';
import { buildCatalog, describeCollision } from './catalog.js';

const tool = (name: string) => ({ name, description: `the ${name} tool` });

describe('buildCatalog', () => {
  it('exposes tools of the same name from two servers under their default prefixes', () => {
    const catalog = buildCatalog([
      { server: 'left', prefix: undefined, items: [tool('whoami'), tool('echo')] },
      { server: 'right', prefix: undefined, items: [tool('whoami')] },
    ]);
    expect(catalog.collisions).toEqual([]);
    expect([...catalog.byExposedName.keys()].sort()).toEqual(['left__echo', 'left__whoami', 'right__whoami']);
    expect(catalog.byExposedName.get('right__whoami')).toEqual({
      server: 'right',
      name: 'whoami',
      exposedName: 'right__whoami',
      item: tool('whoami'),
    });
  });

  it('reports two unprefixed tools of the same name as a collision and exposes neither', () => {
    const catalog = buildCatalog([
      { server: 'left', prefix: '', items: [tool('whoami'), tool('only_left')] },
      { server: 'right', prefix: '', items: [tool('whoami')] },
    ]);
    expect([...catalog.byExposedName.keys()]).toEqual(['only_left']);
    expect(catalog.collisions).toEqual([
      {
        exposedName: 'whoami',
        sources: [
          { server: 'left', name: 'whoami' },
          { server: 'right', name: 'whoami' },
        ],
      },
    ]);
  });

  it('catches collisions that only appear after prefixing', () => {
    const catalog = buildCatalog([
      { server: 'a', prefix: 'x_', items: [tool('_y')] },
      { server: 'b', prefix: 'x__', items: [tool('y')] },
      { server: 'c', prefix: '', items: [tool('x__y')] },
    ]);
    expect(catalog.byExposedName.size).toBe(0);
    expect(catalog.collisions).toHaveLength(1);
    expect(catalog.collisions[0]!.sources.map((s) => s.server)).toEqual(['a', 'b', 'c']);
  });

  it('catches collisions between sanitised names', () => {
    const catalog = buildCatalog([
      { server: 's', prefix: '', items: [tool('a'.repeat(70)), tool('a'.repeat(70))] },
    ]);
    expect(catalog.collisions).toHaveLength(1);
  });

  it('describes a collision naming both sources and the remedy', () => {
    const message = describeCollision('tool', {
      exposedName: 'whoami',
      sources: [
        { server: 'left', name: 'whoami' },
        { server: 'right', name: 'whoami' },
      ],
    });
    expect(message).toBe(
      'tool "whoami" of server "left" and tool "whoami" of server "right" would both be exposed as "whoami"; ' +
        'set a distinct "prefix" on one of the servers (neither is exposed until then)',
    );
  });
});
