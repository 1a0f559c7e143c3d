import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { GatehouseError } from '../errors.js';

/**
 * `.env`-style files (`NAME=value` lines, `#` comments, optional quotes): the config's `envFile`, read
 * before `${VAR}` expansion, and the file `gatehouse init` writes the secrets it moves out of a config
 * into. Both directions use Node's own parser (`util.parseEnv`, the one behind `node --env-file`), so
 * what is written reads back exactly and a file written by hand means what Node would make of it.
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The variables of an env file. Throws the fs error (the caller says which config named the file). */
export function readEnvFile(file: string): Record<string, string> {
  const parsed = parseEnv(readFileSync(file, 'utf8'));
  return Object.fromEntries(
    Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * The text of an env file holding `variables`, after `header` comment lines. Each value is quoted the
 * first way that reads back unchanged; a value no quoting carries (it holds every quote character and a
 * line break) is refused rather than written altered.
 */
export function formatEnvFile(
  variables: Readonly<Record<string, string>>,
  header: readonly string[] = [],
): string {
  const lines = header.map((line) => `# ${line}`);
  for (const [name, value] of Object.entries(variables)) {
    if (!NAME.test(name)) {
      throw new GatehouseError('USAGE', `"${name}" cannot be an environment variable name`);
    }
    const line = encodings(value)
      .map((encoded) => `${name}=${encoded}`)
      .find((candidate) => parseEnv(candidate)[name] === value);
    if (line === undefined) {
      throw new GatehouseError('USAGE', `the value of ${name} cannot be written to an env file unchanged`);
    }
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

function encodings(value: string): string[] {
  return [`'${value}'`, `"${value.replace(/\n/g, '\\n')}"`, `\`${value}\``];
}
