import { Ajv, type ValidateFunction } from 'ajv';
import { describeSchemaErrors, readPinnedSchema, schemaFormats } from '../schemas.js';
import { SLACK_INTERACTIONS_PATH } from './config.js';

/**
 * The Slack app Gatehouse needs, as an app manifest to paste at api.slack.com/apps → Create New App →
 * From a manifest, for either transport. Exactly the scopes the channel uses: `chat:write` for
 * chat.postMessage, chat.update and chat.postEphemeral in the conversations the app is invited to
 * (views.open needs none: the click's trigger_id is its permission), and for Socket Mode an app-level
 * token with `connections:write` (apps.connections.open), which is made beside the manifest.
 */

/** The bot token's scopes. */
export const SLACK_BOT_SCOPES = ['chat:write'] as const;

/** The app-level token's scopes (Socket Mode only). */
export const SLACK_APP_SCOPES = ['connections:write'] as const;

export interface ManifestOptions {
  transport: 'http' | 'socket';
  /** HTTP: approvals.publicUrl, where Slack reaches Gatehouse's listener. */
  publicUrl?: string;
  /** HTTP: the channel's `path`. */
  path?: string;
  name?: string;
  /** Deployed to a whole Enterprise Grid organization rather than one workspace. */
  orgWide?: boolean;
}

export function slackManifest(options: ManifestOptions): Record<string, unknown> {
  const name = options.name ?? 'Gatehouse';
  const http = options.transport === 'http';
  const requestUrl = `${(options.publicUrl ?? 'https://gatehouse.example.com').replace(/\/+$/, '')}${
    options.path ?? SLACK_INTERACTIONS_PATH
  }`;
  return {
    display_information: {
      name,
      description: 'Approve or reject MCP tool calls that Gatehouse holds for people to decide.',
    },
    features: { bot_user: { display_name: name, always_online: true } },
    oauth_config: { scopes: { bot: [...SLACK_BOT_SCOPES] } },
    settings: {
      interactivity: http ? { is_enabled: true, request_url: requestUrl } : { is_enabled: true },
      org_deploy_enabled: options.orgWide === true,
      socket_mode_enabled: !http,
      token_rotation_enabled: false,
    },
  };
}

/** Slack's published app manifest schema (JSON Schema draft-07), pinned in fixtures/schemas. */
export const SLACK_MANIFEST_SCHEMA_FILE = 'slack-manifest-v1.json';

let manifestSchema: ValidateFunction | undefined;

/**
 * Problems of an app manifest against Slack's schema, as `$.json.path: message` lines: what Slack's
 * own editor would flag on paste (`$.display_information.name: must NOT have more than 35 characters`).
 */
export function slackManifestProblems(manifest: unknown): string[] {
  manifestSchema ??= new Ajv({ allErrors: true, strict: false, formats: schemaFormats }).compile(
    readPinnedSchema(SLACK_MANIFEST_SCHEMA_FILE),
  );
  return manifestSchema(manifest) ? [] : describeSchemaErrors(manifestSchema.errors);
}
