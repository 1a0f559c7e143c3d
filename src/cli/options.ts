import { Option } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';

/** Where commands write what a person reads; never stdout while serving MCP on stdio. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export const configOption = () =>
  new Option('-c, --config <file>', 'configuration file').default(DEFAULT_CONFIG_FILE);
