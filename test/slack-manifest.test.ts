import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCommand, tempDirForTests } from './helpers/cli.js';

/**
 * `gatehouse slack manifest`, run as the CLI runs it, against configs written here: the manifest it
 * prints is the one the configured channel needs (its transport, its interactivity URL from
 * approvals.publicUrl and the channel's path), for one workspace or a whole organization.
 */

const tmp = tempDirForTests('gatehouse-slack-');
const run = cliCommand('slack', 'manifest');

const slackChannel = (extra: Record<string, unknown> = {}) => ({
  type: 'slack',
  botToken: '${SLACK_BOT_TOKEN:-xoxb-1-2-test}',
  signingSecret: '${SLACK_SIGNING_SECRET:-8f742231b10e8888abcd99yyyzzz85a5}',
  channels: ['C0APPROVALS'],
  ...extra,
});

async function configFile(name: string, approvals: Record<string, unknown>): Promise<string> {
  const file = path.join(tmp.path, name);
  await writeFile(file, JSON.stringify({ approvals }, null, 2));
  return file;
}

describe('gatehouse slack manifest', () => {
  it("prints the http channel's manifest: its path under approvals.publicUrl, one bot scope", async () => {
    const config = await configFile('http.json', {
      publicUrl: 'https://approvals.example.org/',
      channels: { slack: slackChannel({ path: '/hooks/slack' }) },
    });
    const { code, out, err } = await run('--config', config);
    expect({ code, err }).toEqual({ code: 0, err: '' });
    expect(JSON.parse(out)).toEqual({
      display_information: {
        name: 'Gatehouse',
        description: 'Approve or reject MCP tool calls that Gatehouse holds for people to decide.',
      },
      features: { bot_user: { display_name: 'Gatehouse', always_online: true } },
      oauth_config: { scopes: { bot: ['chat:write'] } },
      settings: {
        interactivity: { is_enabled: true, request_url: 'https://approvals.example.org/hooks/slack' },
        org_deploy_enabled: false,
        socket_mode_enabled: false,
        token_rotation_enabled: false,
      },
    });
  });

  it('Socket Mode needs no public URL; --org-wide deploys to a whole organization', async () => {
    const config = await configFile('socket.json', {
      channels: {
        slack: {
          type: 'slack',
          transport: 'socket',
          botToken: 'xoxb-1-2-test',
          appToken: 'xapp-1-A0-3-test',
          channels: ['C0APPROVALS'],
        },
      },
    });
    const { code, out } = await run('--config', config, '--org-wide', '--name', 'Approvals');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      display_information: { name: 'Approvals' },
      features: { bot_user: { display_name: 'Approvals' } },
      settings: { interactivity: { is_enabled: true }, org_deploy_enabled: true, socket_mode_enabled: true },
    });
    expect(JSON.parse(out).settings.interactivity.request_url).toBeUndefined();
  });

  it('picks the channel --channel names, and writes the file --out names', async () => {
    const config = await configFile('two.json', {
      publicUrl: 'https://approvals.example.org',
      channels: { ops: slackChannel(), sec: slackChannel({ path: '/api/slack/sec' }) },
    });
    const several = await run('--config', config);
    expect(several.code).toBe(2);
    expect(several.err).toBe('gatehouse: several slack channels (ops, sec): pick one with --channel');
    const unknown = await run('--config', config, '--channel', 'dev');
    expect(unknown.err).toBe(
      'gatehouse: no slack channel "dev" in approvals.channels (slack channels: ops, sec)',
    );

    const out = path.join(tmp.path, 'sec-manifest.json');
    const written = await run('--config', config, '--channel', 'sec', '--out', out);
    expect(written).toEqual({ code: 0, out: `wrote ${out}: the Slack app manifest (http)`, err: '' });
    const manifest = JSON.parse(await readFile(out, 'utf8'));
    expect(manifest.settings.interactivity.request_url).toBe('https://approvals.example.org/api/slack/sec');
  });

  it('refuses what cannot make a manifest, saying what to give', async () => {
    const noUrl = await configFile('no-url.json', { channels: { slack: slackChannel() } });
    const refused = await run('--config', noUrl);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('no public URL for the http transport, where Slack posts clicks');

    const plain = await configFile('plain.json', {
      publicUrl: 'http://127.0.0.1:8787',
      channels: { slack: slackChannel() },
    });
    expect((await run('--config', plain)).err).toBe(
      'gatehouse: http://127.0.0.1:8787 is no https URL, and Slack posts clicks only over https: give --public-url https://…, or use --transport socket',
    );
    expect((await run('--config', plain, '--public-url', 'not a url')).code).toBe(2);

    // What Slack's own schema refuses (a name over 35 characters), refused here first.
    const long = await run('--config', noUrl, '--transport', 'socket', '--name', 'G'.repeat(36));
    expect(long).toEqual({
      code: 2,
      out: '',
      err: "gatehouse: the manifest would not pass Slack's app manifest schema:\n$.display_information.name: must NOT have more than 35 characters",
    });

    const none = await configFile('none.json', {});
    expect((await run('--config', none)).err).toBe(
      `gatehouse: no slack channel in approvals.channels of ${none}: configure one, or give --transport`,
    );
    expect((await run('--config', none, '--transport', 'carrier-pigeon')).err).toBe(
      'gatehouse: --transport carrier-pigeon: give http or socket',
    );

    // The channel's secrets unset: the config cannot load, and the message says how to do without it.
    const secret = path.join(tmp.path, 'secret.json');
    await writeFile(
      secret,
      JSON.stringify({
        approvals: { channels: { slack: slackChannel({ botToken: '${GATEHOUSE_TEST_UNSET_TOKEN}' }) } },
      }),
    );
    const unset = await run('--config', secret);
    expect(unset.code).toBe(2);
    expect(unset.err).toContain('GATEHOUSE_TEST_UNSET_TOKEN');
    expect(unset.err).toContain(
      '(this needs no secrets: set them, or give --transport, and --public-url for http)',
    );
    const flags = await run('--config', secret, '--transport', 'http', '--public-url', 'https://g.example');
    expect(flags.code).toBe(0);
    expect(JSON.parse(flags.out).settings.interactivity.request_url).toBe(
      'https://g.example/api/slack/interactions',
    );
  });
});
