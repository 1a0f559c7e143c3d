import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdio, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';
import { approvalSetUp, approverApi, BOB, TOKENS } from '../helpers/gated.js';
import { startHttpTap, type HttpTap } from '../helpers/httpTap.js';
import { blocksOf, startMessagesStandIn, type MessagesStandIn } from '../helpers/messagesStandIn.js';
import { builtGatehouse, REPO, STDIO_TAP } from '../helpers/paths.js';
import { eventually, runToExit } from '../helpers/processes.js';
import { CLAUDE, ensureRealClients } from '../helpers/realClients.js';

/*
 * Claude Code (the npm package's native binary) as the real client, without a model service: its
 * `claude mcp` commands connect to a server and check its health, and `claude -p` runs a turn against
 * a local stand-in of the Messages API. Wire taps between Claude Code and Gatehouse show what it sent.
 */

const scratch = scratchDir('claude-code');
const home = path.join(scratch.dir, 'home');
scratch.write('home/.keep', '');

/** Claude Code in a home of its own (its config, never the user's), offline but for what it is given. */
const claude = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runToExit(CLAUDE, args, {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    ANTHROPIC_API_KEY: 'sk-ant-stand-in',
    // Its API calls, event logging included, go to the stand-in: nothing leaves the machine, and
    // nothing waits on a name that does not resolve here.
    ANTHROPIC_BASE_URL: standIn.url,
    ...env,
  });

const MODERN = '2026-07-28';
type Frame = { id?: string | number; method?: string; params?: any; result?: any; error?: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const DEPLOY = 'mcp__gh__rec__deploy';
const WAIT = 'mcp__gh__gatehouse__wait_for_approval';
let standIn: MessagesStandIn;

beforeAll(async () => {
  await ensureRealClients();
  // The stand-in model: deploy, then wait for the approval named in the pending result, then stop.
  standIn = await startMessagesStandIn((body) => {
    const results = blocksOf(body).filter((b) => b.type === 'tool_result');
    if (results.length === 0) return { toolUse: { name: DEPLOY, input: { build: 'b-claude' } } };
    if (results.length === 1) {
      // The pending result as Claude Code passed it on (its JSON, as text): the approvalId in it.
      const approvalId = /approvalId\W+([0-9a-f-]{36})/.exec(JSON.stringify(results[0]!.content))?.[1];
      return { toolUse: { name: WAIT, input: { approvalId } } };
    }
    return { text: 'deployed, as approved' };
  });
}, 600_000);
afterAll(async () => {
  await standIn?.close();
  scratch.remove();
});

describe('claude mcp: Claude Code connects to Gatehouse and sees its tools', () => {
  const config = scratch.write(
    'health.json',
    gatehouseConfig({ everything: everythingStdio() }, { log: { level: 'warn' } }),
  );
  let gatehouse: HttpGatehouse;
  let tap: HttpTap;
  beforeAll(async () => {
    gatehouse = await startHttpGatehouse(
      scratch.write('health-http.json', gatehouseConfig({ everything: everythingStdio() })),
    );
    tap = await startHttpTap(gatehouse.mcpUrl);
  });
  afterAll(async () => {
    await tap?.close();
    await gatehouse?.stop();
  });

  it('stdio: negotiates 2026-07-28 with server/discover and lists the tools', async () => {
    const log = path.join(scratch.dir, 'stdio-tap.jsonl');
    // Gatehouse as built, as a user's client launches it, behind a tap in plain JavaScript: Claude Code
    // bounds the probe (about 3 s from launch here), and tsx's loader would add up to a second per
    // process on a loaded machine to a start-up that is not Gatehouse's.
    const launch = [
      process.execPath,
      STDIO_TAP,
      log,
      process.execPath,
      builtGatehouse(),
      'serve',
      '--config',
      config,
    ];
    const added = await claude([
      'mcp',
      'add',
      'gh',
      '--',
      'bash',
      '-c',
      `cd "$0" && exec "$@"`,
      REPO,
      ...launch,
    ]);
    expect(added.code, added.stderr).toBe(0);

    const got = await claude(['mcp', 'get', 'gh']);
    expect(got.stdout).toMatch(/Status: ✔ Connected/);
    const listed = await claude(['mcp', 'list']);
    expect(listed.stdout).toMatch(/gh: .*✔ Connected/);

    const frames = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { from: string; at: number; frame: string })
      .map(({ from, at, frame }) => ({ from, at, ...(JSON.parse(frame) as Frame) }));
    // Each command connected once: read the last connection (from its probe on).
    const probes = frames.filter((f) => f.from === 'client' && f.method === 'server/discover');
    const connection = frames.slice(frames.lastIndexOf(probes[probes.length - 1]!));
    const sent = connection.filter((f) => f.from === 'client');
    const answerTo = (request: Frame) =>
      connection.find((f) => f.from === 'server' && f.id === request.id && (f.result || f.error))!;
    // Its first request is the server/discover probe at 2026-07-28, and Gatehouse answers it with
    // 2026-07-28 first and the Tasks extension: never a refusal that would send Claude Code back.
    expect(sent[0]).toMatchObject({
      method: 'server/discover',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'claude-code', version: '2.1.328' },
        },
      },
    });
    const probeAnswer = answerTo(sent[0]!);
    expect(probeAnswer.result.supportedVersions[0]).toBe(MODERN);
    expect(probeAnswer.result.capabilities.extensions).toHaveProperty('io.modelcontextprotocol/tasks');
    // Answered within Claude Code's bound (Gatehouse answers the probe while its servers still start,
    // by timeouts.discoverMs after launch): it never fell back to initialize and the 2025-11-25 era.
    expect(sent.map((f) => f.method)).not.toContain('initialize');
    const list = sent.find((f) => f.method === 'tools/list')!;
    expect(list.params._meta['io.modelcontextprotocol/protocolVersion']).toBe(MODERN);
    const names = (answerTo(list).result.tools as { name: string }[]).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['everything__echo', 'gatehouse__approval_status']));
  });

  it('HTTP: negotiates 2026-07-28 with the standard headers and lists the tools', async () => {
    const added = await claude(['mcp', 'add', '--transport', 'http', 'gh-http', tap.url]);
    expect(added.code, added.stderr).toBe(0);
    const got = await claude(['mcp', 'get', 'gh-http']);
    expect(got.stdout).toMatch(/Status: ✔ Connected/);

    const posts = tap.exchanges
      .filter((e) => e.method === 'POST')
      .map((e) => ({ ...e, json: JSON.parse(e.body) as Frame }));
    expect(posts[0]!.json).toMatchObject({ method: 'server/discover' });
    expect(posts[0]!.headers).toMatchObject({
      'mcp-protocol-version': MODERN,
      'mcp-method': 'server/discover',
    });
    // Served without a session: nothing was initialized, no session id was handed out.
    expect(posts.map((p) => p.json.method)).not.toContain('initialize');
    expect(posts.every((p) => p.headers['mcp-session-id'] === undefined)).toBe(true);
    const list = posts.find((p) => p.json.method === 'tools/list')!;
    expect(list.status).toBe(200);
    expect(list.response).toContain('"everything__echo"');
  });
});

describe('claude -p: a gated call held for approval, approved, and its result reaching the model', () => {
  const setUp = approvalSetUp(scratch, 'loop');
  let gatehouse: HttpGatehouse;
  beforeAll(async () => {
    gatehouse = await startHttpGatehouse(setUp.config);
  });
  afterAll(async () => {
    await gatehouse?.stop();
  });

  it('the model gets the pending result, then the real result once bob approves', async () => {
    const mcpConfig = scratch.write('loop-mcp.json', {
      mcpServers: {
        gh: { type: 'http', url: gatehouse.mcpUrl, headers: { Authorization: `Bearer ${TOKENS.alice}` } },
      },
    });
    const api = await approverApi(gatehouse.baseUrl).as(BOB);
    const turn = claude(
      [
        '-p',
        'deploy build b-claude',
        '--output-format',
        'json',
        '--mcp-config',
        mcpConfig,
        '--strict-mcp-config',
        '--allowedTools',
        DEPLOY,
        WAIT,
      ],
      // MCP tools offered to the model directly, not behind tool search.
      { ENABLE_TOOL_SEARCH: 'false' },
    );
    let pendingId = '';
    await eventually(
      async () => {
        const pending = (await api.list('pending')).json.approvals as { id: string; arguments: unknown }[];
        pendingId = pending.find((a) => JSON.stringify(a.arguments) === '{"build":"b-claude"}')?.id ?? '';
        return pendingId !== '';
      },
      'Claude Code’s deploy is held for approval',
      60_000,
    );
    expect((await api.decide(pendingId, 'approve')).status).toBe(200);

    const run = await turn;
    expect(run.code, run.stderr).toBe(0);
    const output = JSON.parse(run.stdout) as { is_error: boolean; result: string; num_turns: number };
    expect(output).toMatchObject({ is_error: false, result: 'deployed, as approved' });

    const turns = standIn.requests.filter(
      (r) => r.path === '/v1/messages' && (r.body.tools ?? []).length > 0,
    );
    // Claude Code offered the model Gatehouse's tools under its mcp__<server>__ names.
    const offered = (turns[0]!.body.tools as { name: string }[]).map((t) => t.name);
    expect(offered).toEqual(expect.arrayContaining([DEPLOY, WAIT, 'mcp__gh__gatehouse__approval_status']));
    const results = blocksOf(turns[turns.length - 1]!.body).filter((b) => b.type === 'tool_result');
    expect(JSON.stringify(results[0]!.content)).toContain(pendingId);
    expect(JSON.stringify(results[0]!.content)).toContain('pending');
    // The approved call's real result, as the recorder answered it, reached the model.
    expect(JSON.stringify(results[1]!.content)).toContain('deployed b-claude');
    expect(setUp.recorder.received().filter((c) => c.name === 'deploy')).toHaveLength(1);
  });
});
