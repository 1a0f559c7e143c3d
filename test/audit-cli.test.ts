import { statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleEvents, writeTrail, at } from '../src/audit/eventkit.js';
import { readKeyFile } from '../src/audit/keys.js';
import { openAuditLog } from '../src/audit/log.js';
import { tempDir, testKey, type TestKey } from '../src/audit/testkit.js';
import { inclusionProofFor } from '../src/audit/verify.js';
import { GATEHOUSE_BIN } from './helpers/paths.js';
import { eventually, runToExit, spawnProcess } from './helpers/processes.js';

/** `gatehouse audit …` as an operator or an auditor runs it: the real CLI, real logs written by the engine. */

let root: { path: string; remove: () => Promise<void> };
let log: string;
let key: TestKey;
const events = sampleEvents();

const cliArgs = (args: string[]) => ['--import', 'tsx', GATEHOUSE_BIN, ...args];
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
const gatehouse = (...args: string[]) => runToExit(process.execPath, cliArgs(args), env);
const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

beforeAll(async () => {
  root = await tempDir('gatehouse-audit-cli-');
  log = path.join(root.path, 'log');
  key = await writeTrail(log, events);
});
afterAll(() => root.remove());

describe('gatehouse audit keygen and rotate-key', () => {
  it('creates a 0600 key file, prints the verifier key, and refuses to replace it', async () => {
    const file = path.join(root.path, 'keys', 'audit.key');
    const made = await gatehouse('audit', 'keygen', '--name', 'test.example/gatehouse', '--out', file);
    expect(made.code).toBe(0);
    expect(made.stdout.trim()).toMatch(/^test\.example\/gatehouse\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(made.stderr).toContain('Publish the verifier key');
    const again = await gatehouse('audit', 'keygen', '--out', file);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${file}: a key file already exists`);
    noStackTrace(again.stderr);
  });

  it('rotates offline, records the rotation, and the old published key still verifies the log', async () => {
    const dir = path.join(root.path, 'rotating');
    const file = path.join(dir, 'audit.key');
    const made = await gatehouse('audit', 'keygen', '--name', 'rot.example/gatehouse', '--out', file);
    const oldKey = made.stdout.trim();
    const signer = (await readKeyFile(file)).signer;
    await writeTrail(path.join(dir, 'log'), events.slice(0, 5), { signer });

    // While Gatehouse (here: an open log) writes the log, rotation refuses and says why.
    const open = await openAuditLog({ dir: path.join(dir, 'log'), signer });
    const busy = await gatehouse('audit', 'rotate-key', '--dir', path.join(dir, 'log'), '--key-file', file);
    await open.close();
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('Stop Gatehouse, then rotate');

    const rotated = await gatehouse(
      'audit',
      'rotate-key',
      '--dir',
      path.join(dir, 'log'),
      '--key-file',
      file,
    );
    expect(rotated.code).toBe(0);
    const newKey = rotated.stdout.trim();
    expect(newKey).not.toBe(oldKey);
    expect(rotated.stderr).toContain('record 5 (audit.key_rotated)');

    // Gatehouse starts again with the new key and writes more.
    const keys = await readKeyFile(file);
    expect(keys.signer.verifierKey).toBe(newKey);
    const reopened = await openAuditLog({
      dir: path.join(dir, 'log'),
      signer: keys.signer,
      verifiers: keys.verifiers,
    });
    await reopened.append(
      { event: 'gatehouse.stopped', version: '0.1.0', pid: 1, reason: 'test' },
      { sync: true },
    );
    await reopened.close();

    const verified = await gatehouse('audit', 'verify', '--dir', path.join(dir, 'log'), '--key', oldKey);
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toContain('OK: the audit log');
    expect(verified.stdout).toMatch(/signed by rot\.example\/gatehouse\+[0-9a-f]{8}/);
    expect(verified.code).toBe(0);
    const tail = await gatehouse('audit', 'tail', '-n', '2', '--dir', path.join(dir, 'log'));
    expect(tail.stdout).toMatch(/#5\s+audit\.key_rotated\s+checkpoint signing key rotated/);
  });
});

describe('gatehouse audit verify', () => {
  it('exits 0 on an intact log and says what it checked against', async () => {
    const { code, stdout, stderr } = await gatehouse(
      'audit',
      'verify',
      '--dir',
      log,
      '--key',
      key.verifierKey,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`OK: the audit log in ${log} verifies`);
    expect(stdout).toContain(`records: ${events.length}, ${events.length} checked line by line`);
    expect(stdout).toMatch(/the latest, .*checkpoints\.jsonl:1, covers \d+ record\(s\), root [0-9a-f]{64}/);
  });

  it('exits 1 on a tampered log, naming the first bad record and why', async () => {
    const copy = path.join(root.path, 'tampered');
    await writeTrail(copy, events, key);
    const segment = path.join(copy, 'segment-0000000000000000.jsonl');
    const lines = (await readFile(segment, 'utf8')).split('\n');
    lines[6] = lines[6]!.replace('system files are off limits', 'system files are fine');
    await writeFile(segment, lines.join('\n'));
    const { code, stdout, stderr } = await gatehouse(
      'audit',
      'verify',
      '--dir',
      copy,
      '--key',
      key.verifierKey,
    );
    expect(code).toBe(1);
    expect(stdout).toContain('FAILED: the audit log');
    expect(stdout).toContain(`first bad record: 6 at ${segment}:7`);
    expect(stdout).toMatch(/why: .*record 6 was changed after it was written.*\[edited\]/);
    noStackTrace(stderr);
  });

  it('exits 1 when no trusted key signed the checkpoints, and prints JSON on request', async () => {
    const other = testKey('other.example/gatehouse');
    const { code, stdout } = await gatehouse(
      'audit',
      'verify',
      '--dir',
      log,
      '--key',
      other.verifierKey,
      '--json',
    );
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, problem: { reason: 'checkpoint-unknown-key' } });
  });

  it('exits 2 for what it cannot use: no log named, a bad key, a missing directory', async () => {
    const none = await runToExit(
      process.execPath,
      cliArgs(['audit', 'verify', '--key', key.verifierKey]),
      env,
    );
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('name the audit log with --dir DIR');
    const bad = await gatehouse('audit', 'verify', '--dir', log, '--key', 'not-a-key');
    expect(bad.code).toBe(2);
    const missing = await gatehouse(
      'audit',
      'verify',
      '--dir',
      path.join(root.path, 'nope'),
      '--key',
      key.verifierKey,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no audit log directory here');
    for (const run of [none, bad, missing]) noStackTrace(run.stderr);
  });

  it('finds the log and the key file through a config, and says that key proves less', async () => {
    const dir = path.join(root.path, 'configured');
    await mkdir(dir);
    const file = path.join(dir, 'audit.key');
    await gatehouse('audit', 'keygen', '--out', file);
    const signer = (await readKeyFile(file)).signer;
    await writeTrail(path.join(dir, 'audit'), events.slice(0, 3), { signer });
    const config = path.join(dir, 'gatehouse.json');
    await writeFile(config, JSON.stringify({ audit: { dir: './audit', keyFile: './audit.key' } }));
    const { code, stdout } = await gatehouse('audit', 'verify', '--config', config);
    expect(code).toBe(0);
    expect(stdout).toContain(`key(s) from the key file ${file}`);
    expect(stdout).toContain('An auditor verifies with the published verifier key');
  });
});

describe('gatehouse audit verify-receipt', () => {
  it('verifies a receipt offline and prints who approved, proven by the signed record', async () => {
    const seq = events.findIndex((t) => t.event.event === 'call.executed' && 'approvalId' in t.event);
    const proof = await inclusionProofFor(log, seq, [key.verifierKey]);
    const file = path.join(root.path, 'receipt.json');
    const receipt = {
      ...proof,
      approvalId: 'a-exec',
      approvers: [
        { id: 'bob', at: at(11) },
        { id: 'carol', at: at(13) },
      ],
      rule: 'fs-writes',
      policyVersion: 'v1',
    };
    await writeFile(file, JSON.stringify({ content: [], _meta: { 'gatehouse/receipt': receipt } }));
    const ok = await gatehouse('audit', 'verify-receipt', file, '--key', key.verifierKey);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`OK: ${file} verifies`);
    expect(ok.stdout).toContain(`proven: record ${seq} is in the log`);
    expect(ok.stdout).toContain(
      `proven (in the signed record): approved by bob at ${at(11)}, carol at ${at(13)}`,
    );
    expect(ok.stdout).toContain('proven (in the signed record): rule fs-writes');

    const wrong = await gatehouse('audit', 'verify-receipt', file, '--key', testKey('x.example').verifierKey);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain('FAILED');
    const keyless = await gatehouse('audit', 'verify-receipt', file);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('--key PUBKEY');
  });
});

describe('gatehouse audit show and tail', () => {
  it('tells the whole story of an approval, from request to result', async () => {
    const { code, stdout, stderr } = await gatehouse('audit', 'show', 'a-exec', '--dir', log);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Approval a-exec: fs/write_file (call c-exec)');
    expect(stdout).toContain(`requested: ${at(10)} by alice (dev) over http, client claude-code 1.0.0`);
    expect(stdout).toMatch(/refused: .* alice tried to approve via web: APPROVER_IS_REQUESTER/);
    expect(stdout).toContain(`approved: ${at(11)} by bob via web (then pending)`);
    expect(stdout).toContain(`approved: ${at(13)} by carol via web: checked the path (then approved)`);
    expect(stdout).toContain(`outcome: executed at ${at(13)}`);
    expect(stdout).toMatch(/#16\s+call\.executed/);
    // What servers and clients sent reaches the terminal as text, never as escape sequences.
    expect(stdout).toContain('to webhook (hooks.example): FAILED HTTP 503⟦U+001B⟧[2J');
    expect(stdout).not.toContain('\u001b');
    expect(stdout).not.toContain('\u0007');
  });

  it('finds the same story from the call id, and says when nothing matches', async () => {
    const byCall = await gatehouse('audit', 'show', 'c-exec', '--dir', log);
    expect(byCall.stdout).toContain('Approval a-exec');
    const allowed = await gatehouse('audit', 'show', 'c-read', '--dir', log, '--json');
    expect(
      allowed.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { event: string }).event),
    ).toEqual(['call.decided', 'call.executing', 'call.executed']);
    const none = await gatehouse('audit', 'show', 'no-such-id', '--dir', log);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no record in');
  });

  it('prints the last records, and follows new ones as they are written', async () => {
    const last = await gatehouse('audit', 'tail', '-n', '2', '--dir', log);
    expect(last.stdout.trim().split('\n')).toHaveLength(2);
    expect(last.stdout).toContain('gatehouse.stopped');

    const dir = path.join(root.path, 'following');
    await writeTrail(dir, events.slice(0, 2), key);
    const follower = spawnProcess(
      process.execPath,
      cliArgs(['audit', 'tail', '-f', '--json', '--dir', dir]),
      env,
    );
    try {
      await eventually(
        () => follower.stdout().trim().split('\n').length === 2,
        'the first records are printed',
        20_000,
      );
      const writer = await openAuditLog({ dir, signer: key.signer, settings: { segmentMaxBytes: 600 } });
      for (const { event } of events.slice(2, 6)) await writer.append(event, { sync: true });
      await writer.close();
      await eventually(
        () => follower.stdout().trim().split('\n').length === 6,
        () => `6 records followed across segments; got:\n${follower.stdout()}`,
        20_000,
      );
      const seqs = follower
        .stdout()
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
      expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await follower.stop();
    }
  });
});

describe('gatehouse audit export and report', () => {
  it('exports a period as CSV to a file, and OCSF to standard output', async () => {
    const out = path.join(root.path, 'export.csv');
    const csv = await gatehouse(
      'audit',
      'export',
      '--format',
      'csv',
      '--dir',
      log,
      '--since',
      at(10),
      '--until',
      at(11),
      '--out',
      out,
    );
    expect(csv.code).toBe(0);
    const rows = (await readFile(out, 'utf8')).trimEnd().split('\n');
    const expected = events.filter((t) => t.time >= at(10) && t.time < at(11)).length;
    expect(rows).toHaveLength(expected + 1);
    expect(csv.stderr).toContain(`wrote ${expected} record(s)`);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const ocsf = await gatehouse('audit', 'export', '--format', 'ocsf', '--dir', log);
    const lines = ocsf.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { class_uid: number; type_uid: number });
    expect(lines).toHaveLength(events.length);
    expect(lines.every((l) => Math.floor(l.type_uid / 100) === l.class_uid)).toBe(true);

    const bad = await gatehouse('audit', 'export', '--format', 'xml', '--dir', log);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('use one of jsonl, csv, ocsf');
  });

  it('writes the evidence report, verified, and exits 1 when the log does not verify', async () => {
    const out = path.join(root.path, 'report.html');
    const ok = await gatehouse('audit', 'report', '--dir', log, '--key', key.verifierKey, '--out', out);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toContain('3 privileged action(s); the log verifies');
    expect(await readFile(out, 'utf8')).toContain('<h1>Gatehouse audit evidence</h1>');
    const other = testKey('other.example');
    const failed = await gatehouse('audit', 'report', '--dir', log, '--key', other.verifierKey, '--out', out);
    expect(failed.code).toBe(1);
    expect(await readFile(out, 'utf8')).toContain('The log does NOT verify');
  });
});
