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

/** A child's last stderr lines, kept to explain its exit. */
const STDERR_TAIL_LINES = 20;

/**
 * A stdio downstream in its own process group, so that shutdown ends the whole tree (npx → npm → node),
 * with the SDK's safe inherited environment plus the server's own `env`: Gatehouse's secrets never
 * reach a child. The child's stderr goes to the log at debug: servers write banners and routine chatter
 * there ("running on stdio", "Failed to request initial roots" when no client is connected yet), and
 * a line has no level to tell an error by. When the child exits unasked, its last lines go with the
 * warning, so a server that fails to start still explains itself at info. A stdout line that is not a
 * JSON-RPC message is logged and dropped, never "repaired".
 */
export class StdioChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child?: ChildProcess;
  private closed = false;
  private readonly stderrTail: string[] = [];

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
        // Once its stderr is read to the end, so that the last lines (the reason) are in the warning.
        if (!this.closed) {
          void stderrRead.then(() =>
            this.log.warn({ code, signal, stderr: [...this.stderrTail] }, 'downstream process exited'),
          );
        }
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
      const stderrRead = new Promise<void>((resolve) => stderr.once('close', resolve));
      stderr.on('line', (text) => {
        const line = text.slice(0, 4096);
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
        this.log.debug({ stream: 'stderr' }, line);
      });
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
