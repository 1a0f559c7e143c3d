import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EVERYTHING, FILESYSTEM, REPO, fixtureArgs, type Fixture } from './paths.js';

/** A scratch folder for one test file's configs and data; `remove()` in afterAll. */
export function scratchDir(label: string) {
  const dir = mkdtempSync(path.join(tmpdir(), `gatehouse-${label}-`));
  return {
    dir,
    /**
     * Write a file (an object as JSON, or raw text for malformed cases) and return its path; `name` may
     * hold folders (`policies/rules.yaml`), which are created.
     */
    write(name: string, content: object | string): string {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const ALLOW_ALL_POLICIES = path.join(REPO, 'fixtures/policies/allow-all');

/**
 * A config with the listener on a free port (the default 8787 would clash between parallel tests),
 * quiet logs unless asked, and fast restarts.
 */
export function gatehouseConfig(servers: Record<string, object>, extra: Record<string, unknown> = {}) {
  return {
    mcpServers: servers,
    http: { port: 0 },
    log: { level: 'info' },
    restart: { initialDelayMs: 50, maxDelayMs: 1_000 },
    // The proxy's own tests run with an explicit allow-everything policy set.
    policies: ALLOW_ALL_POLICIES,
    // A store file has exactly one writer, and tests start several Gatehouses on one config (a stdio
    // client launches its own): each process gets its own store unless a test pins it (restarts).
    approvals: { store: './.gatehouse/store-${GATEHOUSE_TEST_STORE:-default}.json' },
    // The audit log too has one writer per directory.
    audit: {
      dir: './.gatehouse/audit-${GATEHOUSE_TEST_STORE:-default}',
      keyFile: './.gatehouse/audit-${GATEHOUSE_TEST_STORE:-default}.key',
    },
    ...extra,
  };
}

export const fixtureServer = (fixture: Fixture, extra: Record<string, unknown> = {}, ...args: string[]) => ({
  command: process.execPath,
  args: fixtureArgs(fixture, ...args),
  cwd: REPO,
  ...extra,
});

export const everythingStdio = () => ({ command: process.execPath, args: [EVERYTHING, 'stdio'] });

export const filesystemStdio = (dir: string) => ({ command: process.execPath, args: [FILESYSTEM, dir] });

export interface RecordedCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** The recorder fixture writing to `logFile`, and the tools/call requests it has received so far. */
export function recorderServer(logFile: string) {
  return {
    server: fixtureServer('recorder', {}, logFile),
    received: (): RecordedCall[] =>
      existsSync(logFile)
        ? readFileSync(logFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as RecordedCall)
        : [],
  };
}
