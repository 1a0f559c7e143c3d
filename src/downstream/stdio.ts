import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { readJsonRpcLines } from '../shared/jsonLines.js';
import type { Logger } from '../log.js';
import type { StdioServerConfig } from '../config/schema.js';

/** How long a child gets between SIGTERM and SIGKILL on shutdown. */
const KILL_GRACE_MS = 2_000;

/**
 * A stdio downstream in its own process group, so that shutdown ends the whole tree (npx → npm → node),
 * with the SDK's safe inherited environment plus the server's own `env`: Gatehouse's secrets never
 * reach a child. The child's stderr goes to the log; a stdout line that is not a JSON-RPC message is
 * logged and dropped, never "repaired".
 */
export class StdioChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child?: ChildProcess;
  private closed = false;

  constructor(
    private readonly config: StdioServerConfig,
    private readonly log: Logger,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.config.command, this.config.args, {
        cwd: this.config.cwd,
        env: { ...getDefaultEnvironment(), ...this.config.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
      this.child = child;
      child.once('error', (error) => {
        if (!child.pid) reject(error);
        this.onerror?.(error);
        this.finish();
      });
      child.once('spawn', () => resolve());
      child.once('exit', (code, signal) => {
        if (!this.closed) this.log.warn({ code, signal }, 'downstream process exited');
        this.finish();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));

      readJsonRpcLines(
        child.stdout!,
        (message) => this.onmessage?.(message),
        ({ line }) =>
          this.log.warn(
            { stream: 'stdout', line: line.slice(0, 512) },
            'downstream wrote a line that is not a JSON-RPC message to stdout; dropped',
          ),
      );
      const stderr = createInterface({ input: child.stderr!, crlfDelay: Infinity });
      stderr.on('line', (line) => this.log.info({ stream: 'stderr' }, line.slice(0, 4096)));
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || this.closed) {
        reject(new Error('not connected'));
        return;
      }
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.finish();
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(timer);
    // The leader is gone; make sure no grandchild (npx's node) outlives it.
    signalGroup(child, 'SIGKILL');
    this.finish();
  }

  private finished = false;
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.closed = true;
    this.onclose?.();
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}
