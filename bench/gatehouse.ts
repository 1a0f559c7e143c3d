/** Starting Gatehouse for a benchmark as `npm start` runs it (dist/), and the approval set-up they share. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../src/approvals/web/auth/password.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ALICE_TOKEN = 'bench-alice-token-0123456789';
export const BOB_PASSWORD = 'bench-password';

/** A running `gatehouse serve --http`: its MCP URL, its base URL, and a way to stop it. */
export interface BenchGatehouse {
  url: string;
  base: string;
  child: ChildProcess;
}

export async function startGatehouse(config: string): Promise<BenchGatehouse> {
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin/gatehouse.js'), 'serve', '--http', '--config', config, '--log-level', 'info'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`Gatehouse exited (${code}): ${stderr}`)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderr += `${line}\n`;
      if (line.includes('Gatehouse ready')) resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  child.stderr!.resume();
  return { url, base: url.replace(/\/mcp$/, ''), child };
}

/**
 * A config in `dir` whose one tool (`stamp__stamp`, recording when each call arrives in `stampLog`)
 * needs bob's approval; alice calls with her token. `extra` goes into the config (the store, audit).
 */
export async function stampConfig(
  dir: string,
  name: string,
  stampLog: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const policies = path.join(dir, 'policies');
  mkdirSync(policies, { recursive: true });
  writeFileSync(
    path.join(policies, 'gate.yaml'),
    [
      'rules:',
      '  - id: stamp-needs-approval',
      '    match: { servers: stamp, tools: stamp }',
      '    effect: approve',
      '    reason: benchmark',
      '    approvers: [bob]',
      '    ttl: 1h',
    ].join('\n'),
  );
  const config = path.join(dir, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      mcpServers: {
        stamp: {
          command: process.execPath,
          args: [path.join(root, 'bench/fixtures/stamp-server.mjs'), stampLog],
          cwd: root,
        },
      },
      http: { port: 0 },
      log: { level: 'warn' },
      policies,
      identity: { tokens: [{ token: ALICE_TOKEN, id: 'alice', groups: [] }] },
      approvers: {
        accounts: [
          { id: 'bob', groups: [], passwordHash: await hashPassword(BOB_PASSWORD, { ln: 10, r: 8, p: 1 }) },
        ],
      },
      approvals: { store: path.join(dir, 'store.json') },
      ...extra,
    }),
  );
  return config;
}

/** When each stamped call reached the downstream, by its id (epoch ms). */
export function stamps(file: string): Map<string, number> {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Map();
  }
  return new Map(
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; at: number })
      .map(({ id, at }) => [id, at]),
  );
}
