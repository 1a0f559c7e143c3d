import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { silentLogger } from '../log.js';
import { readLowdbStore } from '../store/lowdb.js';
import { PostgresSettingsSchema, isPostgresUrl } from '../store/postgres/options.js';
import { configOption, type CliIo } from './options.js';

/**
 * `gatehouse store migrate`: moves the embedded file store (and its archive) into PostgreSQL, for a
 * Gatehouse that goes from one machine to several replicas. Run it with Gatehouse stopped: it takes
 * the file's lock, and imports into an empty schema only.
 */
export function registerStoreCommands(program: Command, io: CliIo): void {
  const store = program.command('store').description('the approval store');
  store
    .command('migrate')
    .description(
      'import a lowdb store file (and its archive) into an empty PostgreSQL schema; TLS and schema ' +
        'come from approvals.postgres of the config when there is one',
    )
    .requiredOption('--from <file>', 'the lowdb store file (approvals.store of the one-machine config)')
    .option(
      '--to <url>',
      'the postgres:// URL; default: approvals.store of the config. ${VAR} in it is read from the environment',
    )
    .addOption(configOption())
    .action(async (flags: { from: string; to?: string; config: string }) => {
      const config = existsSync(flags.config) ? loadConfig(flags.config) : undefined;
      const url = flags.to !== undefined ? expand(flags.to) : config?.approvals.store;
      if (url === undefined || !isPostgresUrl(url)) {
        throw new GatehouseError(
          'USAGE',
          '--to: give the postgres:// URL to import into (or a config whose approvals.store is one)',
        );
      }
      const settings = config?.approvals.postgres ?? PostgresSettingsSchema.parse({});
      const { document, archived } = await readLowdbStore(flags.from);
      // Loaded here, not at start: every other command runs without the PostgreSQL client.
      const { openPostgresStore } = await import('../store/postgres/store.js');
      const target = await openPostgresStore({ url, settings, logger: silentLogger });
      try {
        const done = await target.importDocument(document, archived);
        io.out(
          `imported ${flags.from} into ${target.name} (schema ${settings.schema}): ` +
            `${done.approvals} requests, ${done.archived} archived, ${done.quarantined} quarantined, ` +
            `${done.deliveries} deliveries, ${done.callbackTokens} callback tokens, ` +
            `${done.conversations} conversations`,
        );
      } finally {
        await target.close();
      }
    });
}

/** `${VAR}` from the environment (as the config expands it), so no password is typed into a command line. */
function expand(url: string): string {
  return url.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = process.env[name];
    if (value === undefined) throw new GatehouseError('USAGE', `--to: \${${name}} is not set`);
    return value;
  });
}
