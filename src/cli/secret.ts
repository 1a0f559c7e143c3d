import { createInterface } from 'node:readline/promises';
import { GatehouseError } from '../errors.js';
import type { CliIo } from './options.js';

/**
 * Reading a password for the CLI: typed at a terminal without echo, or piped in. Never from argv,
 * which other users of the machine can read.
 */

/** Reads one line typed at the terminal without echoing it. Ctrl-C cancels; backspace and Ctrl-U edit. */
export function promptHidden(
  prompt: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const wasRaw = input.isRaw;
    // Echo off before the prompt shows: whatever is typed once it is visible must not be echoed.
    input.setRawMode(true);
    output.write(prompt);
    input.setEncoding('utf8');
    let value = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || (char === '\u0004' && value === '')) {
          return finish(new GatehouseError('USAGE', 'cancelled'));
        }
        if (char === '\u0004') return finish();
        if (char === '\u007f' || char === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (char === '\u0015') value = '';
        else if (char === '\u001b')
          break; // an escape sequence (arrow keys): drop the rest of it
        else if (char >= ' ') value += char;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

/** All of standard input as text, without one trailing line break (what `echo` or a file adds). */
export async function readStdin(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** A password: prompted without echo on a terminal, else read from piped standard input. */
export async function readPassword(prompt: string): Promise<string> {
  return process.stdin.isTTY ? promptHidden(prompt) : readStdin();
}

/**
 * A new approver password: typed twice without echo on a terminal, else piped on standard input.
 * Refuses an empty one and warns about a short one; `refused` says what did not happen on a mismatch.
 */
export async function readNewPassword(io: CliIo, refused: string): Promise<string> {
  let password: string;
  if (process.stdin.isTTY) {
    password = await promptHidden('New approver password: ');
    if ((await promptHidden('Repeat it: ')) !== password) {
      throw new GatehouseError('USAGE', `the two passwords differ; ${refused}`);
    }
  } else {
    password = await readStdin();
  }
  if (password === '') throw new GatehouseError('USAGE', 'the password is empty');
  if (Array.from(password).length < 12)
    io.err('gatehouse: warning: a password under 12 characters is easy to guess');
  return password;
}

/** One line typed at the terminal, shown as it is typed (a name, not a secret). */
export async function promptLine(prompt: string): Promise<string> {
  const reader = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return (await reader.question(prompt)).trim();
  } finally {
    reader.close();
  }
}
