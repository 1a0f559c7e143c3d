import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenRecords } from '../src/approvals/quarantine.js';
import { LIST_LIMIT } from '../src/approvals/web/apiSchemas.js';
import { parsePasswordHash, verifyPassword } from '../src/approvals/web/auth/password.js';
import {
  PASSWORDS,
  startLocalApprovalWeb,
  type ApprovalWebHarness,
  type FakeApprovalService,
} from './helpers/approvals.js';
import { scratchDir } from './helpers/config.js';
import { connectHttpAs } from './helpers/embedded.js';
import { BOB, TOKENS, approvalSetUp, expectNotRun, expectPending, passwordOf } from './helpers/gated.js';
import { startHttpGatehouse } from './helpers/gatehouse.js';
import { TOOL_ERROR, executedWith } from './helpers/outcomes.js';
import { sampleRequest } from './store/helpers.js';
import { GATEHOUSE_BIN } from './helpers/paths.js';
import { eventually, spawnProcess } from './helpers/processes.js';

/** `gatehouse approvals …` and `gatehouse approvers hash-password` as a person runs them, against a live API. */

let service: FakeApprovalService;
let web: ApprovalWebHarness;
let bobToken: string;

/** bob's API token on the approval API at `url`. */
async function tokenFor(url: string): Promise<string> {
  const response = await fetch(`${url}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`bob:${PASSWORDS.bob}`).toString('base64')}` },
  });
  return ((await response.json()) as { token: string }).token;
}

beforeAll(async () => {
  ({ service, web } = await startLocalApprovalWeb());
  bobToken = await tokenFor(web.url);
});
afterAll(() => web?.close());

/** The CLI from source with only the environment given here (no GATEHOUSE_* leaking in from outside). */
async function gatehouse(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  const spawned = spawnProcess(process.execPath, ['--import', 'tsx', GATEHOUSE_BIN, ...args], {
    ...env,
    ...options.env,
  });
  spawned.child.stdin!.end(options.stdin ?? '');
  const code = await spawned.exited;
  return { code, stdout: spawned.stdout(), stderr: spawned.stderr() };
}

const asBob = () => ({ env: { GATEHOUSE_APPROVER_TOKEN: bobToken } });

describe('gatehouse approvals', () => {
  it('lists pending requests with a token from the environment', async () => {
    const request = await service.add();
    const { code, stdout, stderr } = await gatehouse(['approvals', 'list', '--url', web.url], asBob());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATE\s+TOOL\s+REQUESTED BY\s+APPROVALS\s+ARGUMENTS$/);
    const path = request.arguments.path as string;
    expect(lines.find((l) => l.startsWith(request.id))).toMatch(
      new RegExp(
        `pending\\s+fs / write_file\\s+alice\\s+fs-writes 0/1\\s+path: "${path}", content: "quarterly numbers"\\s+expires in 60 min`,
      ),
    );
    expect(stdout).not.toContain(bobToken);

    const json = await gatehouse(['approvals', 'list', '--json', '--all', '--url', web.url], asBob());
    expect(JSON.parse(json.stdout).some((a: { id: string }) => a.id === request.id)).toBe(true);
  });

  it('lists without secret values, which `show` gives exactly', async () => {
    const CANARY = 'c4nary-cli-3d2c1b';
    const request = await service.add({ arguments: { path: '/srv/x', apiKey: CANARY } });
    const list = await gatehouse(['approvals', 'list', '--json', '--url', web.url], asBob());
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(CANARY);
    const listed = (JSON.parse(list.stdout) as { id: string; arguments: unknown }[]).find(
      (a) => a.id === request.id,
    );
    expect(listed?.arguments).toEqual({ path: '/srv/x', apiKey: '[REDACTED]' });
    const show = await gatehouse(['approvals', 'show', request.id, '--url', web.url], asBob());
    expect(show.stdout).toContain(`"apiKey": "${CANARY}"`);
  });

  it('lists and shows a call whose tool reported an error as such, with the error, not as a plain executed', async () => {
    const request = await executedWith(service, TOOL_ERROR);
    const toolSaid = (TOOL_ERROR.content[0] as { text: string }).text;
    const list = await gatehouse(['approvals', 'list', '--state', 'executed', '--url', web.url], asBob());
    expect(list.code).toBe(0);
    const row = list.stdout.split('\n').find((l) => l.startsWith(request.id))!;
    expect(row).toMatch(/^\S+\s+executed, tool error\s+fs \/ write_file/);
    expect(row).toContain(`executed, the tool reported an error: ${toolSaid.slice(0, 10)}`);

    const show = await gatehouse(['approvals', 'show', request.id, '--url', web.url], asBob());
    expect(show.stdout).toContain('outcome       executed, the tool reported an error');
    expect(show.stdout).toContain(`the tool's error:\n  ${toolSaid}\n`);
    const json = await gatehouse(['approvals', 'show', request.id, '--json', '--url', web.url], asBob());
    expect(JSON.parse(json.stdout).outcome).toMatchObject({
      kind: 'executed-with-tool-error',
      detail: toolSaid,
    });
  });

  it('shows a request with deceptive characters marked and a warning', async () => {
    const request = await service.add({ arguments: { path: '/srv/\u202Etxt.sh', host: 'p\u0430ypal.com' } });
    const { code, stdout } = await gatehouse(['approvals', 'show', request.id, '--url', web.url], asBob());
    expect(code).toBe(0);
    expect(stdout).toContain('WARNING: the arguments contain characters that can deceive a reader');
    expect(stdout).toContain('"path": "/srv/⟦U+202E⟧txt.sh"');
    expect(stdout).toContain('"host": "p\u0430⟦U+0430⟧ypal.com"');
    expect(stdout).not.toContain('\u202E');
    expect(stdout).toContain(`digest        ${request.digest}`);
  });

  it('lists every page of a list longer than one page of the API, each request once', async () => {
    const other = await startLocalApprovalWeb();
    try {
      const made = new Set<string>();
      for (let i = 0; i <= LIST_LIMIT.max; i++) made.add((await other.service.add()).id);
      const env = { env: { GATEHOUSE_APPROVER_TOKEN: await tokenFor(other.web.url) } };
      const list = await gatehouse(['approvals', 'list', '--json', '--url', other.web.url], env);
      expect(list.code).toBe(0);
      const ids = (JSON.parse(list.stdout) as { id: string }[]).map((a) => a.id);
      expect(ids).toHaveLength(LIST_LIMIT.max + 1);
      expect(new Set(ids)).toEqual(made);
      expect(list.stderr).toBe('');

      // --limit: the latest ones only, and a word on stderr that more match; a count that is none refused.
      const latest = [...made].reverse();
      const three = await gatehouse(
        ['approvals', 'list', '--json', '--limit', '3', '--url', other.web.url],
        env,
      );
      expect(three.code).toBe(0);
      expect((JSON.parse(three.stdout) as { id: string }[]).map((a) => a.id)).toEqual(latest.slice(0, 3));
      expect(three.stderr).toContain('the latest 3 shown; more may match');
      const all = await gatehouse(
        ['approvals', 'list', '--json', '--limit', '5000', '--url', other.web.url],
        env,
      );
      expect(JSON.parse(all.stdout)).toHaveLength(LIST_LIMIT.max + 1);
      expect(all.stderr).toBe('');
      for (const bad of ['0', '-1', 'ten', '2.5']) {
        const refused = await gatehouse(['approvals', 'list', '--limit', bad, '--url', other.web.url], env);
        expect(refused.code, bad).toBe(2);
        expect(refused.stderr, bad).toContain(`--limit: "${bad}" is not a whole number of 1 or more`);
      }
    } finally {
      await other.web.close();
    }
  });

  it('lists quarantined records beside pending requests, shows one with what to do, and cannot approve it', async () => {
    const tampered = { ...sampleRequest(7), arguments: { path: '/etc/\u202Epasswd' } };
    const { quarantined } = screenRecords([tampered], new Date());
    const other = await startLocalApprovalWeb({ quarantined });
    try {
      const token = await tokenFor(other.web.url);
      const env = { env: { GATEHOUSE_APPROVER_TOKEN: token } };
      const list = await gatehouse(['approvals', 'list', '--url', other.web.url], env);
      expect(list.code).toBe(0);
      expect(list.stdout.split('\n').find((l) => l.startsWith('req-7'))).toMatch(
        /^req-7\s+quarantined\s+DIGEST_MISMATCH: see `gatehouse approvals show req-7`$/,
      );
      const show = await gatehouse(['approvals', 'show', 'req-7', '--url', other.web.url], env);
      expect(show.code).toBe(0);
      expect(show.stdout).toContain('req-7   quarantined');
      expect(show.stdout).toContain('problem       DIGEST_MISMATCH: the stored invocation');
      expect(show.stdout).toContain('recovery      It never runs and takes no decisions.');
      expect(show.stdout).toContain('WARNING: the record contains characters that can deceive a reader');
      expect(show.stdout).toContain('"path": "/etc/⟦U+202E⟧passwd"');
      const approve = await gatehouse(['approvals', 'approve', 'req-7', '--url', other.web.url], env);
      expect(approve.code).toBe(1);
      expect(approve.stderr).toContain('approval req-7 is quarantined (DIGEST_MISMATCH)');
    } finally {
      await other.web.close();
    }
  });

  it('approves as a local account with the password from the environment', async () => {
    const request = await service.add();
    const { code, stdout, stderr } = await gatehouse(
      ['approvals', 'approve', request.id, '--reason', 'fine', '--url', web.url, '--user', 'bob'],
      { env: { GATEHOUSE_APPROVER_PASSWORD: PASSWORDS.bob } },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`approved fs / write_file (${request.id}): now approved, fs-writes 1/1`);
    expect((await service.get(request.id))!.decisions[0]).toMatchObject({
      approver: { id: 'bob' },
      reason: 'fine',
      channel: 'api',
    });
  });

  it('rejects with a reason read with --password-stdin; a rejection without --reason is a usage error', async () => {
    const request = await service.add();
    const missing = await gatehouse(['approvals', 'reject', request.id, '--url', web.url], asBob());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--reason <text>' not specified");

    const { code, stdout } = await gatehouse(
      [
        'approvals',
        'reject',
        request.id,
        '--reason',
        'not this file',
        '--url',
        web.url,
        '--user',
        'bob',
        '--password-stdin',
      ],
      { stdin: `${PASSWORDS.bob}\n` },
    );
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`rejected fs / write_file (${request.id}): now rejected`);
    expect((await service.get(request.id))!.closed!.reason).toBe('rejected by bob: not this file');
  });

  it('prints the API refusal and exits 1: self-approval, unknown request, not pending', async () => {
    const request = await service.add({
      requirements: [{ rule: 'r', approvers: ['alice', 'bob'], quorum: 1 }],
    });
    const self = await gatehouse(['approvals', 'approve', request.id, '--url', web.url, '--user', 'alice'], {
      env: { GATEHOUSE_APPROVER_PASSWORD: PASSWORDS.alice },
    });
    expect(self.code).toBe(1);
    expect(self.stderr.trim()).toBe(
      'gatehouse: alice made this request and cannot decide on it; another approver must',
    );

    const unknown = await gatehouse(['approvals', 'approve', 'nope', '--url', web.url], asBob());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^gatehouse: no approval request .*nope\n$/);

    await service.decide(request.id, { approver: { id: 'bob', groups: [] }, decision: 'approve' });
    const late = await gatehouse(
      ['approvals', 'reject', request.id, '--reason', 'x', '--url', web.url],
      asBob(),
    );
    expect(late.code).toBe(1);
    expect(late.stderr).toContain('is already approved');
  });

  it('refuses to run without credentials, and never echoes a wrong password or token', async () => {
    const none = await gatehouse(['approvals', 'list', '--url', web.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('GATEHOUSE_APPROVER_TOKEN');

    const wrong = await gatehouse(['approvals', 'list', '--url', web.url, '--user', 'bob'], {
      env: { GATEHOUSE_APPROVER_PASSWORD: 'a-wrong-password' },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr.trim()).toBe(
      `gatehouse: cannot sign in to ${web.url}: the user name or password is incorrect`,
    );

    const badToken = 'gatehouse_this-token-does-not-exist-but-is-secret';
    const bad = await gatehouse(['approvals', 'list', '--url', web.url], {
      env: { GATEHOUSE_APPROVER_TOKEN: badToken },
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('the API token is unknown, revoked or expired');
    expect(bad.stdout + bad.stderr).not.toContain(badToken);
    expect(wrong.stdout + wrong.stderr).not.toContain('a-wrong-password');
  });

  it('says so when nothing answers at the URL', async () => {
    const { code, stderr } = await gatehouse(['approvals', 'list', '--url', 'http://127.0.0.1:9'], asBob());
    expect(code).toBe(1);
    expect(stderr).toContain('no Gatehouse answering at http://127.0.0.1:9');
  });
});

describe('gatehouse approvals against a real Gatehouse', () => {
  it("lists alice's gated write_file, approves it (server-filesystem writes the file) and rejects another with a reason", async () => {
    const scratch = scratchDir('approvals-cli');
    const setUp = approvalSetUp(scratch, 'cli');
    const running = await startHttpGatehouse(setUp.config);
    const alice = await connectHttpAs(running.mcpUrl, { token: TOKENS.alice });
    try {
      const writeFile = (file: string, content: string) =>
        alice.client.callTool({
          name: 'fs__write_file',
          arguments: { path: path.join(setUp.files, file), content },
        }) as Promise<CallToolResult>;
      const cli = (...args: string[]) =>
        gatehouse(['approvals', ...args, '--url', running.baseUrl, '--user', 'bob'], {
          env: { GATEHOUSE_APPROVER_PASSWORD: passwordOf(BOB) },
        });

      const target = path.join(setUp.files, 'by-the-cli.txt');
      const approved = expectPending(
        await writeFile('by-the-cli.txt', 'approved from a terminal'),
        'fs-write',
        true,
      );
      const rejected = expectPending(await writeFile('not-by-the-cli.txt', 'never'), 'fs-write', true);
      const list = await cli('list');
      expect(list.stderr).toBe('');
      for (const { approvalId } of [approved, rejected]) {
        expect(list.stdout.split('\n').find((l) => l.startsWith(approvalId))).toMatch(
          /pending\s+fs \/ write_file\s+alice\s+fs-write 0\/1/,
        );
      }
      expect(existsSync(target)).toBe(false);

      const approve = await cli('approve', approved.approvalId, '--reason', 'looked at it');
      expect(approve).toMatchObject({ code: 0, stderr: '' });
      expect(approve.stdout.trim()).toBe(
        `approved fs / write_file (${approved.approvalId}): now approved, fs-write 1/1`,
      );
      await eventually(() => existsSync(target), `${target} is written`);
      expect(readFileSync(target, 'utf8')).toBe('approved from a terminal');
      await eventually(
        async () => (await cli('list', '--state', 'executed')).stdout.includes(approved.approvalId),
        'the API lists the request as executed',
      );
      expect(await writeFile('by-the-cli.txt', 'approved from a terminal')).toMatchObject({
        content: [{ type: 'text', text: `Successfully wrote to ${target}` }],
      });

      const reject = await cli('reject', rejected.approvalId, '--reason', 'wrong folder');
      expect(reject).toMatchObject({ code: 0, stderr: '' });
      expect(reject.stdout.trim()).toBe(`rejected fs / write_file (${rejected.approvalId}): now rejected`);
      expectNotRun(await writeFile('not-by-the-cli.txt', 'never'), 'REJECTED by bob', 'wrong folder');
      expect(existsSync(path.join(setUp.files, 'not-by-the-cli.txt'))).toBe(false);
    } finally {
      await alice.close();
      await running.stop();
      scratch.remove();
    }
  });
});

describe('gatehouse approvers hash-password', () => {
  it('hashes a piped password and prints only the hash', async () => {
    const { code, stdout, stderr } = await gatehouse(['approvers', 'hash-password'], {
      stdin: 'a long enough passphrase\n',
    });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$\S+\n$/);
    expect(await verifyPassword('a long enough passphrase', parsePasswordHash(stdout.trim()))).toBe(true);
  });

  it('warns about a short password and refuses an empty one', async () => {
    const short = await gatehouse(['approvers', 'hash-password'], { stdin: 'short' });
    expect(short.code).toBe(0);
    expect(short.stderr).toContain('under 12 characters');
    const empty = await gatehouse(['approvers', 'hash-password'], { stdin: '' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('the password is empty');
  });

  it('asks twice on a terminal without echoing what is typed', async () => {
    // `script` gives the command a pseudo-terminal; input is sent only once each prompt is shown, so
    // nothing is typed while the terminal would still echo it.
    const command = `${process.execPath} --import tsx ${GATEHOUSE_BIN} approvers hash-password`;
    const spawned = spawnProcess('script', ['-qec', command, '/dev/null']);
    const seen = () => spawned.stdout();
    const waitFor = async (text: string) => {
      for (let i = 0; i < 200 && !seen().includes(text); i += 1) await new Promise((r) => setTimeout(r, 50));
      expect(seen()).toContain(text);
    };
    await waitFor('New approver password: ');
    spawned.child.stdin!.write('typed-secret-value\r');
    await waitFor('Repeat it: ');
    spawned.child.stdin!.write('typed-secret-value\r');
    expect(await spawned.exited).toBe(0);
    expect(seen()).not.toContain('typed-secret-value');
    const hash = /\$scrypt\$\S+/.exec(seen())![0];
    expect(await verifyPassword('typed-secret-value', parsePasswordHash(hash))).toBe(true);
  });
});
