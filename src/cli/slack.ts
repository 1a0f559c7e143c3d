import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SLACK_TRANSPORTS } from '../approvals/channels/slack/config.js';
import { slackManifest, slackManifestProblems } from '../approvals/channels/slack/manifest.js';
import { isHttpsUrl } from '../approvals/channels/urls.js';
import { GatehouseError } from '../errors.js';
import { channelOfType, loadConfigForApp } from './channels.js';
import { configOption, type CliIo } from './options.js';

interface ManifestFlags {
  config: string;
  channel?: string;
  transport?: (typeof SLACK_TRANSPORTS)[number];
  publicUrl?: string;
  orgWide?: boolean;
  name: string;
  out?: string;
}

export function registerSlackCommands(program: Command, io: CliIo): void {
  const slack = program.command('slack').description('Slack: the app manifest for the approval channel');
  slack
    .command('manifest')
    .description(
      'print the Slack app manifest of a slack channel, to paste at api.slack.com/apps (Create New App → From a manifest)',
    )
    .addOption(configOption())
    .option('--channel <name>', 'the slack channel in approvals.channels (default: the only one)')
    .option('--transport <transport>', `${SLACK_TRANSPORTS.join(' or ')} (default: the channel's)`)
    .option('--public-url <url>', 'where Slack reaches Gatehouse, for http (default: approvals.publicUrl)')
    .option('--org-wide', 'deploy to a whole Enterprise Grid organization (org_deploy_enabled)')
    .option('--name <name>', "the app's and its bot's name in Slack", 'Gatehouse')
    .option('-o, --out <file>', 'write the manifest here instead of to standard output')
    .action((flags: ManifestFlags) => {
      if (flags.transport && !(SLACK_TRANSPORTS as readonly string[]).includes(flags.transport)) {
        throw new GatehouseError(
          'USAGE',
          `--transport ${flags.transport}: give ${SLACK_TRANSPORTS.join(' or ')}`,
        );
      }
      const settled = flags.transport === 'socket' || (flags.transport === 'http' && flags.publicUrl);
      const fromConfig = settled ? undefined : configured(flags);
      const transport = flags.transport ?? fromConfig?.transport ?? 'http';
      const publicUrl = flags.publicUrl ?? fromConfig?.publicUrl;
      if (transport === 'http' && !publicUrl) {
        throw new GatehouseError(
          'USAGE',
          'no public URL for the http transport, where Slack posts clicks: give --public-url, or set approvals.publicUrl (or use --transport socket)',
        );
      }
      if (transport === 'http' && !isHttpsUrl(publicUrl!)) {
        throw new GatehouseError(
          'USAGE',
          `${publicUrl} is no https URL, and Slack posts clicks only over https: give --public-url https://…, or use --transport socket`,
        );
      }
      const manifest = slackManifest({
        transport,
        name: flags.name,
        orgWide: flags.orgWide === true,
        ...(transport === 'http' ? { publicUrl: publicUrl! } : {}),
        ...(fromConfig?.path ? { path: fromConfig.path } : {}),
      });
      // What Slack would refuse on paste (a name over 35 characters, say) is refused here, naming it.
      const problems = slackManifestProblems(manifest);
      if (problems.length > 0) {
        throw new GatehouseError(
          'USAGE',
          `the manifest would not pass Slack's app manifest schema:\n${problems.join('\n')}`,
        );
      }
      const text = `${JSON.stringify(manifest, null, 2)}\n`;
      if (!flags.out) {
        io.out(text);
        return;
      }
      try {
        writeFileSync(flags.out, text);
      } catch (error) {
        throw new GatehouseError('USAGE', `cannot write ${flags.out}: ${(error as Error).message}`);
      }
      io.out(
        `wrote ${flags.out}: the Slack app manifest (${transport}${flags.orgWide ? ', organization-wide' : ''})`,
      );
    });
}

/** The slack channel of the config: its transport and path, and approvals.publicUrl. */
function configured(flags: ManifestFlags): {
  transport?: ManifestFlags['transport'];
  path?: string;
  publicUrl?: string;
} {
  const config = loadConfigForApp(flags.config, 'give --transport, and --public-url for http');
  const chosen = channelOfType(config, 'slack', flags.channel);
  if (!chosen && flags.transport === undefined) {
    throw new GatehouseError(
      'USAGE',
      `no slack channel in approvals.channels of ${flags.config}: configure one, or give --transport`,
    );
  }
  return {
    ...(chosen ? { transport: chosen.transport, path: chosen.path } : {}),
    ...(config.approvals.publicUrl ? { publicUrl: config.approvals.publicUrl } : {}),
  };
}
