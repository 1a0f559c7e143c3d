import type { ChannelConfig } from '../approvals/channels/config.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { GatehouseError, isGatehouseError } from '../errors.js';

/**
 * What the commands that prepare a channel's app (`teams package`, `slack manifest`) read from the
 * config: one channel of their type, and approvals.publicUrl. They need none of its secrets.
 */

/** The config; an unset `${VAR}` is refused with `instead`, what to give in its place. */
export function loadConfigForApp(file: string, instead: string): Config {
  try {
    return loadConfig(file);
  } catch (error) {
    if (isGatehouseError(error, 'CONFIG_ENV_MISSING')) {
      throw new GatehouseError(
        'CONFIG_ENV_MISSING',
        `${error.message}\n(this needs no secrets: set them, or ${instead})`,
      );
    }
    throw error;
  }
}

/** The channel of `type` that `--channel` names, or the only one; undefined when the config has none. */
export function channelOfType<T extends ChannelConfig['type']>(
  config: Config,
  type: T,
  name: string | undefined,
): Extract<ChannelConfig, { type: T }> | undefined {
  const found = Object.entries(config.approvals.channels).filter(
    (entry): entry is [string, Extract<ChannelConfig, { type: T }>] => entry[1].type === type,
  );
  const names = found.map(([n]) => n);
  if (name !== undefined) {
    const chosen = found.find(([n]) => n === name);
    if (!chosen) {
      throw new GatehouseError(
        'USAGE',
        `no ${type} channel "${name}" in approvals.channels (${type} channels: ${names.join(', ') || 'none'})`,
      );
    }
    return chosen[1];
  }
  if (found.length > 1) {
    throw new GatehouseError(
      'USAGE',
      `several ${type} channels (${names.join(', ')}): pick one with --channel`,
    );
  }
  return found[0]?.[1];
}
