import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gatehouseConfig, scratchDir } from './helpers/config.js';
import { REPO } from './helpers/paths.js';
import { runToExit } from './helpers/processes.js';

/*
 * A start loads the libraries of the channels, stores and identities its config names, and no others:
 * Slack's clients, undici, jose and openid-client are most of what Gatehouse would otherwise load
 * before it can answer its first client (see bench/firstAnswer.ts).
 */

const scratch = scratchDir('startup-modules');
afterAll(() => scratch.remove());

/** Every module a stdio Gatehouse on `config` loaded, as file paths and URLs. */
async function modulesLoadedBy(
  name: string,
  config: Record<string, unknown>,
  ...flags: string[]
): Promise<string[]> {
  const file = scratch.write(`${name}.json`, config);
  const run = await runToExit(process.execPath, [
    '--import',
    'tsx',
    path.join(REPO, 'test/fixtures/loaded-modules.ts'),
    file,
    ...flags,
  ]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as string[];
}

const LAZY = [
  '/node_modules/@slack/',
  '/node_modules/undici/',
  '/node_modules/jose/',
  '/node_modules/openid-client/',
];
const loadedOf = (modules: string[], fragment: string) => modules.some((m) => m.includes(fragment));

describe('what a start loads', () => {
  it('a config without channels, HTTP servers, JWT or OIDC loads none of their libraries', async () => {
    const modules = await modulesLoadedBy('plain', gatehouseConfig({}, { log: { level: 'warn' } }));
    // What every start needs is there: the check sees the modules this process loaded.
    expect(loadedOf(modules, '/src/main.ts')).toBe(true);
    expect(loadedOf(modules, '/node_modules/zod/')).toBe(true);
    for (const fragment of LAZY) expect(loadedOf(modules, fragment), fragment).toBe(false);
    expect(loadedOf(modules, '/src/approvals/channels/slack/channel.ts')).toBe(false);
    expect(loadedOf(modules, '/src/approvals/channels/teams/bot.ts')).toBe(false);
  });

  it('gatehouse serve loads no other command', async () => {
    const modules = await modulesLoadedBy('cli', gatehouseConfig({}, { log: { level: 'warn' } }), '--cli');
    expect(loadedOf(modules, '/src/cli/serve.ts')).toBe(true);
    expect(loadedOf(modules, '/src/main.ts')).toBe(true);
    for (const command of [
      'init/command',
      'status',
      'policy',
      'approvals',
      'approvers',
      'audit',
      'teams',
      'store',
    ])
      expect(loadedOf(modules, `/src/cli/${command}.ts`), command).toBe(false);
  });

  it('a config naming a Slack and a Teams channel loads those channels', async () => {
    const modules = await modulesLoadedBy(
      'channels',
      gatehouseConfig(
        {},
        {
          log: { level: 'warn' },
          approvals: {
            store: './.gatehouse/store-${GATEHOUSE_TEST_STORE:-default}.json',
            channels: {
              slack: {
                type: 'slack',
                botToken: 'xoxb-1234-5678-abcdefabcdef',
                signingSecret: '0123456789abcdef0123456789abcdef',
                channels: ['C0123456'],
              },
              ops: { type: 'teams-workflow', url: 'https://example.invalid/workflows/ops' },
            },
          },
        },
      ),
    );
    expect(loadedOf(modules, '/node_modules/@slack/web-api/')).toBe(true);
    expect(loadedOf(modules, '/node_modules/@slack/socket-mode/')).toBe(true);
    expect(loadedOf(modules, '/src/approvals/channels/teams/workflow.ts')).toBe(true);
  });
});
