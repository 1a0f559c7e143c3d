import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { MANIFEST_VERSION, teamsAppPackage } from '../approvals/channels/teams/package/manifest.js';
import { GatehouseError } from '../errors.js';
import { VERSION } from '../version.js';
import { channelOfType, loadConfigForApp } from './channels.js';
import { configOption, type CliIo } from './options.js';

interface PackageFlags {
  config: string;
  out: string;
  channel?: string;
  appId?: string;
  publicUrl?: string;
  name: string;
  appVersion: string;
  developerName: string;
  websiteUrl?: string;
  privacyUrl?: string;
  termsUrl?: string;
}

const DEFAULT_PATH = '/api/teams/messages';

export function registerTeamsCommands(program: Command, io: CliIo): void {
  const teams = program.command('teams').description('Microsoft Teams: the app package for the approval bot');
  teams
    .command('package')
    .description(
      `write the Teams app package (manifest ${MANIFEST_VERSION} and icons) of a teams-bot channel, for a tenant admin to upload`,
    )
    .addOption(configOption())
    .requiredOption('-o, --out <file>', 'where to write the zip, such as gatehouse-teams.zip')
    .option('--channel <name>', 'the teams-bot channel in approvals.channels (default: the only one)')
    .option('--app-id <guid>', "the bot's Microsoft App ID (default: the channel's appId)")
    .option('--public-url <url>', 'where Teams users reach Gatehouse (default: approvals.publicUrl)')
    .option('--name <name>', "the app's name in Teams, at most 30 characters", 'Gatehouse')
    .option('--app-version <semver>', 'the app version; raise it for each update of an uploaded app', VERSION)
    .option('--developer-name <name>', 'who publishes the app, as Teams shows it', 'Gatehouse')
    .option('--website-url <url>', 'developer website (default: the public URL)')
    .option('--privacy-url <url>', 'privacy statement (default: the public URL)')
    .option('--terms-url <url>', 'terms of use (default: the public URL)')
    .action((flags: PackageFlags) => {
      const bot = flags.appId && flags.publicUrl ? undefined : fromConfig(flags);
      const appId = flags.appId ?? bot?.appId;
      const publicUrl = (flags.publicUrl ?? bot?.publicUrl)?.replace(/\/+$/, '');
      if (!appId)
        throw new GatehouseError('USAGE', 'no bot app id: give --app-id, or configure a teams-bot channel');
      if (!publicUrl) {
        throw new GatehouseError('USAGE', 'no public URL: give --public-url, or set approvals.publicUrl');
      }
      const zip = teamsAppPackage({
        appId,
        publicUrl,
        version: flags.appVersion,
        name: flags.name,
        developer: {
          name: flags.developerName,
          websiteUrl: flags.websiteUrl ?? publicUrl,
          privacyUrl: flags.privacyUrl ?? publicUrl,
          termsOfUseUrl: flags.termsUrl ?? publicUrl,
        },
      });
      try {
        writeFileSync(flags.out, zip);
      } catch (error) {
        throw new GatehouseError('USAGE', `cannot write ${flags.out}: ${(error as Error).message}`);
      }
      io.out(
        [
          `wrote ${flags.out}: Teams app "${flags.name}" ${flags.appVersion} (manifest ${MANIFEST_VERSION}) for bot ${appId}`,
          `Azure Bot messaging endpoint: ${publicUrl}${bot?.path ?? DEFAULT_PATH}`,
          'Upload it in the Teams admin center (Teams apps > Manage apps > Upload new app), then add the app to the team or chat that approves.',
        ].join('\n'),
      );
    });
}

/** The teams-bot channel of the config: its app id and path, and approvals.publicUrl. */
function fromConfig(flags: PackageFlags): { appId?: string; path?: string; publicUrl?: string } {
  const config = loadConfigForApp(flags.config, 'give --app-id and --public-url');
  const chosen = channelOfType(config, 'teams-bot', flags.channel);
  return {
    ...(chosen?.appId ? { appId: chosen.appId } : {}),
    ...(chosen?.path ? { path: chosen.path } : {}),
    ...(config.approvals.publicUrl ? { publicUrl: config.approvals.publicUrl } : {}),
  };
}
