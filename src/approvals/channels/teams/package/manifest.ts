import { GatehouseError } from '../../../../errors.js';
import { isHttpsUrl } from '../../urls.js';
import { manifestProblems } from '../schemas.js';
import { ACCENT_COLOR, colorIcon, outlineIcon } from './icons.js';
import { zip } from './zip.js';

/**
 * The Teams app package a tenant admin uploads (Teams admin center, or "Upload a custom app"): the
 * manifest of a bot-only app, for the bot of a `teams-bot` channel, and its two icons, zipped. The
 * manifest is checked against Microsoft's published schema (pinned in fixtures/schemas) before
 * anything is written.
 */

/** The manifest schema version Microsoft's own Teams CLI writes today. */
export const MANIFEST_VERSION = '1.25';

export interface PackageInput {
  /** The bot's Microsoft App ID; also the Teams app's id. */
  appId: string;
  /** approvals.publicUrl: where Teams users reach Gatehouse (the bot's endpoint and the page). */
  publicUrl: string;
  /** The app's version; Teams wants a higher one for each update of an uploaded app. */
  version: string;
  name: string;
  developer: { name: string; websiteUrl: string; privacyUrl: string; termsOfUseUrl: string };
}

export function teamsManifest(input: PackageInput): Record<string, unknown> {
  const host = new URL(input.publicUrl).hostname;
  return {
    $schema: `https://developer.microsoft.com/json-schemas/teams/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`,
    manifestVersion: MANIFEST_VERSION,
    version: input.version,
    id: input.appId,
    developer: input.developer,
    name: { short: input.name, full: `${input.name}: approvals for AI agents' tool calls` },
    description: {
      short: 'Approve or reject the tool calls AI agents ask to run, where you work.',
      full:
        'Gatehouse is the policy firewall between AI agents and the tools they use. When a policy ' +
        'requires a human decision, Gatehouse posts the request here: the tool, its arguments, why ' +
        'approval is needed and who asked. Listed approvers approve or reject it on the card; the ' +
        'card then shows what happened. Every decision counts exactly as one taken on the approval page.',
    },
    icons: { color: 'color.png', outline: 'outline.png' },
    accentColor: ACCENT_COLOR,
    bots: [
      {
        botId: input.appId,
        scopes: ['team', 'groupChat', 'personal'],
        supportsFiles: false,
        isNotificationOnly: false,
      },
    ],
    validDomains: [host],
  };
}

/** The zip to upload. Throws TEAMS_PACKAGE_INVALID, naming each problem, when the schema refuses the manifest. */
export function teamsAppPackage(input: PackageInput): Buffer {
  // The schema lets http through; Teams does not (it reaches bots and opens app links over https only).
  const urls = { 'the public URL': input.publicUrl, ...developerUrls(input.developer) };
  for (const [what, url] of Object.entries(urls)) {
    if (!isHttpsUrl(url)) {
      throw new GatehouseError('TEAMS_PACKAGE_INVALID', `${what} must be an https URL: ${url}`);
    }
  }
  const manifest = teamsManifest(input);
  const problems = manifestProblems(manifest);
  if (problems.length > 0) {
    throw new GatehouseError(
      'TEAMS_PACKAGE_INVALID',
      `the Teams app manifest would not pass Microsoft's manifest schema ${MANIFEST_VERSION}:\n${problems.join('\n')}`,
      { problems },
    );
  }
  return zip([
    { name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
    { name: 'color.png', data: colorIcon() },
    { name: 'outline.png', data: outlineIcon() },
  ]);
}

function developerUrls(developer: PackageInput['developer']): Record<string, string> {
  return {
    'the developer website': developer.websiteUrl,
    'the privacy statement': developer.privacyUrl,
    'the terms of use': developer.termsOfUseUrl,
  };
}
