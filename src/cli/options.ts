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
