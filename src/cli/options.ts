import { Option } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { GatehouseError } from '../errors.js';

/** Where commands write what a person reads; never stdout while serving MCP on stdio. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const configOption = () =>
  new Option('-c, --config <file>', 'configuration file').default(DEFAULT_CONFIG_FILE);

/**
 * A commander parser for `--port`, so that a port that is no port is refused before the config is read
 * (a usage error names what was typed, whatever state the config file is in).
 */
export const portArgument =
  (lowest: 0 | 1) =>
  (value: string): number => {
    const port = Number(value);
    if (!/^\d+$/.test(value) || port < lowest || port > 65535) {
      throw new GatehouseError('USAGE', `--port: "${value}" is not a port number (${lowest}-65535)`);
    }
    return port;
  };

/** A commander parser for a count (`--limit`): a whole number from 1, refused as typed otherwise. */
export function countArgument(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || !Number.isSafeInteger(count)) {
    throw new GatehouseError('USAGE', `--limit: "${value}" is not a whole number of 1 or more`);
  }
  return count;
}
