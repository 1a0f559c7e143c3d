import { appendFile, mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isGatehouseError } from '../errors.js';
import { loadPolicyEngine, type PolicyEngine } from './engine.js';
import { loadPolicySet } from './load.js';
import type * as LoadModule from './load.js';
import { defaultLimits, makeCall } from './testkit.js';

/** Runs once, right after the next read of the folder: a writer landing while the engine starts. */
const hook = vi.hoisted(() => ({ afterRead: undefined as (() => Promise<void>) | undefined }));
vi.mock('./load.js', async (importOriginal) => {
  const load = await importOriginal<typeof LoadModule>();
  return {
    ...load,
    readPolicyFolder: async (dir: string) => {
      const read = await load.readPolicyFolder(dir);
      const after = hook.afterRead;
      hook.afterRead = undefined;
      await after?.();
      return read;
    },
  };
});

const allowReads = 'rules:\n  - id: reads\n    match: { tools: "read_*" }\n    effect: allow\n';
const denyReads =
  'rules:\n  - id: reads\n    match: { tools: "read_*" }\n    effect: deny\n    reason: reads are off\n';
const broken = 'rules:\n  - id: reads\n    effect: allow\n    when: args.x ==\n';

let dir: string;
let engine: PolicyEngine | undefined;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-policies-'));
});
afterEach(async () => {
  await engine?.close();
  engine = undefined;
  await rm(dir, { recursive: true, force: true });
});

const options = (watch = false, settleMs = 1_000) => ({
  dir,
  vars: { workspace: '/w' },
  limits: defaultLimits,
  watch,
  settleMs,
});
const read = makeCall('fs', 'read_file', { path: '/w/a' });

describe('loadPolicyEngine', () => {
  it('decides synchronously with the loaded set and reports its status', async () => {
    await writeFile(path.join(dir, 'reads.yaml'), allowReads);
    engine = await loadPolicyEngine(options());
    const decision = engine.decide(read);
    expect(decision).toMatchObject({
      effect: 'allow',
      rules: ['reads'],
      policyVersion: engine.version,
      mode: 'enforce',
    });
    expect(engine.status()).toEqual({
      version: engine.version,
      loadedAt: expect.any(String),
      files: [path.join(dir, 'reads.yaml')],
    });
    expect(engine.visibility(read)).toBe('visible');
  });

  it('refuses to start on a set that does not load, listing every problem with its location', async () => {
    await writeFile(path.join(dir, 'a.yaml'), broken);
    await writeFile(path.join(dir, 'b.yaml'), 'rules:\n  - id: b\n    effect: maybe\n');
    const error = await loadPolicyEngine(options()).catch((e: unknown) => e);
    expect(isGatehouseError(error, 'POLICY_INVALID')).toBe(true);
    if (!isGatehouseError(error)) return;
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(
      `${path.join(dir, 'a.yaml')}:4:20: rule reads: syntax error: Unexpected token: EOF`,
    );
    expect(error.message).toContain(
      `${path.join(dir, 'b.yaml')}:3:13: rule b: effect must be one of allow, deny, approve`,
    );
    expect(error.message).toMatch(/ {4}4 \| {5}when: args\.x ==\n {6}\| {20}\^/);
    expect(error.context.problems).toHaveLength(2);
  });

  it('refuses a missing or empty folder', async () => {
    await expect(loadPolicyEngine(options())).rejects.toThrow(/holds no \*\.yaml/);
    await expect(loadPolicyEngine({ ...options(), dir: path.join(dir, 'nope') })).rejects.toThrow(
      /does not exist/,
    );
  });

  it('ignores subfolders such as tests/ and other files', async () => {
    await writeFile(path.join(dir, 'reads.yaml'), allowReads);
    await writeFile(path.join(dir, 'README.md'), '# not a policy');
    engine = await loadPolicyEngine(options());
    expect(engine.status().files).toHaveLength(1);
  });

  it('swaps in a changed set atomically and says so', async () => {
    await writeFile(path.join(dir, 'reads.yaml'), allowReads);
    engine = await loadPolicyEngine(options());
    const before = engine.version;
    const listener = vi.fn();
    engine.onReload(listener);
    await writeFile(path.join(dir, 'reads.yaml'), denyReads);
    expect(await engine.reload()).toBe(true);
    expect(engine.version).not.toBe(before);
    expect(listener).toHaveBeenCalledWith(engine.version);
    expect(engine.decide(read)).toMatchObject({
      effect: 'deny',
      reason: 'reads are off',
      policyVersion: engine.version,
    });
    expect(await engine.reload()).toBe(false);
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('keeps the last good set when a change does not load, and says so in status', async () => {
    await writeFile(path.join(dir, 'reads.yaml'), allowReads);
    engine = await loadPolicyEngine(options());
    const good = engine.version;
    await writeFile(path.join(dir, 'reads.yaml'), broken);
    expect(await engine.reload()).toBe(false);
    expect(engine.version).toBe(good);
    expect(engine.decide(read).effect).toBe('allow');
    expect(engine.status().lastError).toContain('rule reads: syntax error');
    await writeFile(path.join(dir, 'reads.yaml'), denyReads);
    expect(await engine.reload()).toBe(true);
    expect(engine.status().lastError).toBeUndefined();
  });

  it('watches the folder and applies a valid change', async () => {
    await writeFile(path.join(dir, 'reads.yaml'), allowReads);
    engine = await loadPolicyEngine(options(true));
    const reloaded = new Promise<string>((resolve) => engine!.onReload(resolve));
    await writeFile(path.join(dir, 'reads.yaml'), denyReads);
    const version = await reloaded;
    expect(version).toBe(engine.version);
    expect(engine.decide(read).effect).toBe('deny');
  });

  it('explains a decision rule by rule', async () => {
    await writeFile(path.join(dir, 'reads.yaml'), allowReads);
    engine = await loadPolicyEngine(options());
    const evaluation = engine.explain(read);
    expect(evaluation.outcomes.map((o) => [o.rule.id, o.result])).toEqual([['reads', 'matched']]);
  });
});

/**
 * Files being written are never taken as the policy. The writers here pause between steps for less
 * than the settle interval (1 s), as a slow `cp` or a shell redirection does; the pauses are the
 * writer's pace, not a wait for Gatehouse. Each test waits for the reload it expects and checks that
 * the first set swapped in is the finished one.
 */
describe('watching a folder while files are written', () => {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 250));
  const file = () => path.join(dir, 'reads.yaml');

  async function watching(): Promise<{ good: string; versions: string[]; next: Promise<string> }> {
    await writeFile(file(), allowReads);
    engine = await loadPolicyEngine(options(true));
    const versions: string[] = [];
    const next = new Promise<string>((resolve) =>
      engine!.onReload((version) => {
        versions.push(version);
        resolve(version);
      }),
    );
    return { good: engine.version, versions, next };
  }

  /** The version the folder's content has now, as a fresh load computes it. */
  async function versionOnDisk(): Promise<string> {
    const result = await loadPolicySet(dir, { vars: { workspace: '/w' }, limits: defaultLimits });
    if (!result.ok) throw new Error('the folder does not load');
    return result.set.version;
  }

  it('a file truncated and left empty is a load error naming it: the last good set stays', async () => {
    const { good, versions } = await watching();
    await truncate(file());
    await vi.waitFor(() => expect(engine!.status().lastError).toBeDefined(), { timeout: 10_000 });
    expect(engine!.status().lastError).toContain(`${file()}:1:1: the file holds no policy document`);
    expect(engine!.version).toBe(good);
    expect(engine!.decide(read).effect).toBe('allow');
    expect(versions).toEqual([]);
  });

  it('a file truncated, then written slowly, is taken once, when it is whole', async () => {
    const { versions, next } = await watching();
    await truncate(file());
    for (const line of denyReads.split(/(?<=\n)/)) {
      await pause();
      await appendFile(file(), line);
    }
    expect(await next).toBe(await versionOnDisk());
    expect(versions).toHaveLength(1);
    expect(engine!.decide(read)).toMatchObject({ effect: 'deny', reason: 'reads are off' });
    expect(engine!.status().lastError).toBeUndefined();
  });

  it('a file removed and created again within the interval is one change', async () => {
    await writeFile(path.join(dir, 'others.yaml'), 'rules:\n  - id: others\n    effect: allow\n');
    const { versions, next } = await watching();
    await unlink(file());
    await pause();
    await writeFile(file(), denyReads);
    expect(await next).toBe(await versionOnDisk());
    expect(versions).toHaveLength(1);
    expect(engine!.decide(read).effect).toBe('deny');
  });

  it('when the content that lands is broken, the set from before the truncation stays', async () => {
    const { good, versions } = await watching();
    await truncate(file());
    await pause();
    await writeFile(file(), broken);
    await vi.waitFor(() => expect(engine!.status().lastError).toContain('syntax error'), {
      timeout: 10_000,
    });
    expect(engine!.version).toBe(good);
    expect(engine!.decide(read).effect).toBe('allow');
    expect(versions).toEqual([]);
  });

  it('a file written while the engine starts, after its first read, is picked up', async () => {
    await writeFile(file(), allowReads);
    // The write lands, and its watch event passes, before the engine has a watch.
    hook.afterRead = async () => {
      await writeFile(file(), denyReads);
      await pause();
    };
    engine = await loadPolicyEngine(options(true));
    expect(engine.decide(read).effect).toBe('allow');
    const want = await versionOnDisk();
    await vi.waitFor(() => expect(engine!.version).toBe(want), { timeout: 20_000, interval: 50 });
    expect(engine.decide(read).effect).toBe('deny');
  });

  it('an editor writing its swap file beside a policy does not keep a change from loading', async () => {
    const { next } = await watching();
    let loaded = false;
    void next.then(() => (loaded = true));
    await writeFile(file(), denyReads);
    // Busy beside the policy, more often than the settle interval, for several intervals.
    for (let i = 0; i < 50 && !loaded; i++) {
      await writeFile(path.join(dir, '.reads.yaml.swp'), String(i));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(loaded).toBe(true);
    expect(engine!.decide(read).effect).toBe('deny');
  });
});
