import type { Logger } from '../log.js';
import { defaultPrefix, exposedName } from './names.js';

/** One downstream item (tool, prompt or resource template) under the name the client sees. */
export interface CatalogEntry<T> {
  server: string;
  /** The item's own name on its server. */
  name: string;
  exposedName: string;
  item: T;
}

export interface NameCollision {
  exposedName: string;
  sources: { server: string; name: string }[];
}

export interface Catalog<T> {
  byExposedName: ReadonlyMap<string, CatalogEntry<T>>;
  /** Exposed names claimed by more than one source; none of the sources is exposed. */
  collisions: NameCollision[];
}

export interface CatalogSource<T> {
  server: string;
  prefix: string | undefined;
  items: readonly T[];
}

/**
 * Merge every server's items under their exposed names. A name claimed twice is a configuration
 * error: neither item is exposed (routing a call to the wrong server is worse than refusing it).
 */
export function buildCatalog<T extends { name: string }>(
  sources: readonly CatalogSource<T>[],
  /** Names Gatehouse itself serves: a downstream item claiming one is a collision with Gatehouse. */
  reserved: ReadonlySet<string> = new Set(),
): Catalog<T> {
  const claims = new Map<string, CatalogEntry<T>[]>();
  for (const source of sources) {
    const prefix = source.prefix ?? defaultPrefix(source.server);
    for (const item of source.items) {
      const exposed = exposedName(prefix, item.name);
      const entry = { server: source.server, name: item.name, exposedName: exposed, item };
      const list = claims.get(exposed);
      if (list) list.push(entry);
      else claims.set(exposed, [entry]);
    }
  }
  const byExposedName = new Map<string, CatalogEntry<T>>();
  const collisions: NameCollision[] = [];
  for (const [exposed, entries] of claims) {
    const sources = entries.map((e) => ({ server: e.server, name: e.name }));
    if (reserved.has(exposed))
      collisions.push({ exposedName: exposed, sources: [GATEHOUSE_SOURCE(exposed), ...sources] });
    else if (entries.length === 1) byExposedName.set(exposed, entries[0]!);
    else collisions.push({ exposedName: exposed, sources });
  }
  return { byExposedName, collisions };
}

const GATEHOUSE_SOURCE = (name: string) => ({ server: 'gatehouse', name });

/** Logs each distinct collision once, however often the catalog is rebuilt. */
export function collisionReporter(log: Logger) {
  const reported = new Set<string>();
  return (kind: string, catalog: Catalog<{ name: string }>): void => {
    for (const collision of catalog.collisions) {
      const message = describeCollision(kind, collision);
      if (reported.has(message)) continue;
      reported.add(message);
      log.error({ collision }, message);
    }
  };
}

export function describeCollision(kind: string, collision: NameCollision): string {
  const sources = collision.sources.map((s) => `${kind} "${s.name}" of server "${s.server}"`).join(' and ');
  return (
    `${sources} would both be exposed as "${collision.exposedName}"; ` +
    'set a distinct "prefix" on one of the servers (neither is exposed until then)'
  );
}
