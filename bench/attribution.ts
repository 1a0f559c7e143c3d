import {
  benchDir,
  ERAS,
  startEverythingHttp,
  throughGatehouse,
  type Era,
  type ThroughGatehouse,
} from './setup.js';

/**
 * What bench/profile.ts (V8's sampling profiler) and bench/perf.ts (Linux perf) share: the Gatehouse
 * they watch, naming the owner of a frame, and printing where the time went, per call.
 */

export interface Watched {
  mode: 'stdio' | 'http';
  era: Era;
  /** The run's folder. */
  dir: string;
  gatehouse: ThroughGatehouse;
  /** Stops Gatehouse and the HTTP server, if one was started. */
  stop(): Promise<void>;
}

/**
 * `<script> [stdio|http] [era]`: a Gatehouse from dist/ run with `nodeArgs(dir)`, on stdio (its
 * server its child) or on HTTP in front of a server-everything of its own, with a client of the era.
 */
export async function watchedGatehouse(nodeArgs: (dir: string) => string[]): Promise<Watched> {
  const mode = process.argv[2] === 'http' ? 'http' : 'stdio';
  const era = (process.argv[3] ?? '2025-11-25') as Era;
  if (!ERAS.includes(era)) throw new Error(`unknown era "${era}" (known: ${ERAS.join(', ')})`);
  const dir = benchDir();
  const args = nodeArgs(dir);
  const server = mode === 'http' ? await startEverythingHttp() : undefined;
  const gatehouse = await throughGatehouse(dir, {
    nodeArgs: args,
    era,
    ...(server ? { server: { url: server.url, pid: server.child.pid! } } : {}),
  });
  return {
    mode,
    era,
    dir,
    gatehouse,
    async stop() {
      await gatehouse.stop();
      server?.child.kill('SIGTERM');
    },
  };
}

/** Runs a script's main and exits with its outcome: 1 with the error's message. */
export function runScript(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}

/** The package (or Gatehouse's own file) a frame's script belongs to. */
export function ownerOf(url: string): string {
  if (!url) return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  const own = /\/dist\/(.+)$/.exec(url);
  return own ? `gatehouse:${own[1]}` : url;
}

/** Rows (µs over all calls, by name) as a table of µs a call and share, the largest `top` first. */
export function shareTable(
  title: string,
  rows: ReadonlyMap<string, number>,
  options: { calls: number; total: number; top: number; unit?: string },
): string {
  const lines = [`\n${title}\n`, `| ${options.unit ?? 'self µs/call'} | share | where |`, '|---:|---:|---|'];
  for (const [name, us] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, options.top))
    lines.push(
      `| ${(us / options.calls).toFixed(1)} | ${((100 * us) / options.total).toFixed(1)}% | ${name} |`,
    );
  return lines.join('\n');
}

/** Adds `us` to `name`'s row. */
export const tally = (rows: Map<string, number>, name: string, us: number): void => {
  rows.set(name, (rows.get(name) ?? 0) + us);
};
