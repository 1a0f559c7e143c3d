import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { REPO } from './paths.js';

/** A child process whose output is kept, with a way to wait for a line. */
export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stderr line that matches; rejects on timeout or exit. */
  waitForStderr(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnProcess(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = REPO,
): Spawned {
  const child = spawn(command, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  function waitForStderr(match: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        listeners.delete(check);
        clearTimeout(timer);
        fn();
      };
      const check = () => {
        const line = err.split('\n').find(match);
        if (line !== undefined) done(() => resolve(line));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for a stderr line; stderr so far:\n${err}`))),
        timeoutMs,
      );
      void exited.then((code) => done(() => reject(new Error(`exited with ${code} first; stderr:\n${err}`))));
      listeners.add(check);
      check();
    });
  }

  async function stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  }

  return { child, stdout: () => out, stderr: () => err, waitForStderr, exited, stop };
}

/** Run a command to completion. */
export async function runToExit(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const spawned = spawnProcess(command, args, env);
  spawned.child.stdin!.end();
  const code = await spawned.exited;
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

/** Whether a pid is a live process (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/** Poll until `condition` holds; throws with `what` (worded when it is given up) when it never does. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting until ${typeof what === 'string' ? what : what()}`,
  );
}

/** A port that was free a moment ago, for servers that take their port from the environment. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
