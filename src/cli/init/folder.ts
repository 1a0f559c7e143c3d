import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatEnvFile } from '../../config/envFile.js';
import { GatehouseError } from '../../errors.js';
import { starterPolicies, starterPolicyTests } from './policies.js';
import type { ImportedServer } from './translate.js';

/**
 * The folder `gatehouse init` writes: the config with the imported servers behind Gatehouse, the env
 * file holding their secrets (mode 0600, named by the config's `envFile`), the starter policies with
 * their test cases, and a .gitignore for what must not be committed.
 */

export const CONFIG_FILE = 'mcp.config.json';
export const ENV_FILE = '.env';

export interface Approver {
  id: string;
  groups: string[];
  passwordHash: string;
}

export interface FolderContent {
  servers: readonly ImportedServer[];
  secrets: Readonly<Record<string, string>>;
  port: number;
  approver?: Approver;
}

interface FileToWrite {
  text: string;
  mode?: number;
}

/** The files of the folder, by path relative to it. */
export function folderFiles(content: FolderContent): Record<string, FileToWrite> {
  const hasSecrets = Object.keys(content.secrets).length > 0;
  const config = {
    ...schemaReference(),
    ...(hasSecrets ? { envFile: `./${ENV_FILE}` } : {}),
    mcpServers: Object.fromEntries(content.servers.map((s) => [s.name, s.server])),
    http: { host: '127.0.0.1', port: content.port },
    ...(content.approver ? { approvers: { accounts: [content.approver] } } : {}),
    policies: './policies',
  };
  const policies = Object.entries(starterPolicies()).map(([name, text]) => [`policies/${name}`, { text }]);
  return {
    [CONFIG_FILE]: { text: `${JSON.stringify(config, null, 2)}\n` },
    ...(hasSecrets
      ? {
          [ENV_FILE]: {
            text: formatEnvFile(content.secrets, [
              `Secrets moved out of ${CONFIG_FILE} by \`gatehouse init\`; the config refers to them as \${NAME}.`,
              'Keep this file private (mode 0600) and out of version control.',
            ]),
            mode: 0o600,
          },
        }
      : {}),
    ...Object.fromEntries(policies),
    'policies/tests/starter.yaml': { text: starterPolicyTests() },
    '.gitignore': {
      text: [
        '# Written by `gatehouse init`: secrets, password hashes and Gatehouse state stay out of version control.',
        ENV_FILE,
        CONFIG_FILE,
        '.gatehouse/',
        '',
      ].join('\n'),
    },
  };
}

/** `$schema` pointing at this Gatehouse's config.schema.json, for completion in an editor. */
function schemaReference(): { $schema?: string } {
  const schema = new URL('../../../config.schema.json', import.meta.url);
  return existsSync(fileURLToPath(schema)) ? { $schema: schema.href } : {};
}

/** Writes the files; refuses to replace any that exists unless `force`. Resolves to the paths written. */
export function writeFolder(dir: string, files: Record<string, FileToWrite>, force: boolean): string[] {
  const targets = Object.keys(files).map((name) => path.join(dir, name));
  const existing = targets.filter((file) => existsSync(file));
  if (existing.length > 0 && !force) {
    throw new GatehouseError(
      'USAGE',
      `not overwriting what is there (pass --force to replace it, or --dir for another folder):\n  ${existing.join('\n  ')}`,
    );
  }
  for (const [name, file] of Object.entries(files)) {
    const target = path.join(dir, name);
    mkdirSync(path.dirname(target), { recursive: true });
    // Written aside and renamed: a replaced env file is never readable with the old file's mode.
    const temporary = `${target}.gatehouse-write-${process.pid}`;
    writeFileSync(temporary, file.text, { mode: file.mode ?? 0o644 });
    renameSync(temporary, target);
  }
  return targets;
}
