import { spawn } from 'node:child_process';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { MintError, type MintContext, type Minted } from './types.js';

/** More than any credential; a command printing more is broken. */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * A command the operator configured (a cloud CLI, a vault CLI, a script) prints the credential. It
 * reads the approved call as JSON on stdin, runs with the safe inherited environment plus its own
 * `env` (never Gatehouse's), and must exit 0. Its stdout, trimmed, is the credential; or a JSON
 * object `{"value": "…", "leaseId": "…"}` when it has an id worth recording. Ended at the mint timeout.
 */
export function mintByCommand(
  source: { command: string; args: string[]; env: Record<string, string> },
  context: MintContext,
): Promise<Minted> {
  const { call, approvalId, rendered, signal } = context;
  const input = JSON.stringify({
    server: call.server,
    tool: call.tool,
    arguments: call.arguments,
    caller: { id: call.caller.id, groups: [...call.caller.groups] },
    ...(approvalId ? { approvalId } : {}),
    ...(rendered.scope !== undefined ? { scope: rendered.scope } : {}),
  });
  return new Promise((resolve, reject) => {
    const child = spawn(source.command, source.args, {
      env: { ...getDefaultEnvironment(), ...source.env },
      stdio: ['pipe', 'pipe', 'ignore'],
      signal,
      windowsHide: true,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (signal.aborted) reject(new MintError('the command did not finish in time'));
      else if (error.code === 'ENOENT') reject(new MintError(`command not found: ${source.command}`));
      else reject(new MintError(`the command could not run (${error.code ?? error.message})`));
    });
    child.once('close', (code, killedBy) => {
      if (signal.aborted) return reject(new MintError('the command did not finish in time'));
      if (size > MAX_OUTPUT_BYTES)
        return reject(new MintError(`the command printed more than ${MAX_OUTPUT_BYTES} bytes`));
      if (code !== 0)
        return reject(
          new MintError(`the command exited with ${code === null ? `signal ${killedBy}` : `code ${code}`}`),
        );
      const minted = parseOutput(Buffer.concat(chunks).toString('utf8'));
      if (!minted) return reject(new MintError('the command printed no credential'));
      resolve(minted);
    });
  });
}

function parseOutput(stdout: string): Minted | undefined {
  const text = stdout.trim();
  if (!text) return undefined;
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { value?: unknown; leaseId?: unknown };
      if (typeof parsed.value !== 'string' || !parsed.value) return undefined;
      return {
        value: parsed.value,
        ...(typeof parsed.leaseId === 'string' ? { leaseId: parsed.leaseId } : {}),
      };
    } catch {
      // Not JSON after all: the whole line is the credential.
    }
  }
  return { value: text };
}
