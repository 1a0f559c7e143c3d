import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { manifestProblems } from '../src/approvals/channels/teams/schemas.js';
import { APP_ID } from './helpers/microsoft.js';
import { cliCommand, tempDirForTests } from './helpers/cli.js';

/**
 * `gatehouse teams package`, run as the CLI runs it: the zip it writes is read back with a reader
 * written here from the ZIP format, its manifest checked against Microsoft's pinned schema, its icons
 * decoded.
 */

const tmp = tempDirForTests('gatehouse-teams-');
const run = cliCommand('teams', 'package');

/** The entries of a ZIP archive, through its central directory. */
function unzip(archive: Buffer): Map<string, Buffer> {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = archive.readUInt16LE(end + 10);
  let at = archive.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(archive.readUInt32LE(at)).toBe(0x02014b50);
    const method = archive.readUInt16LE(at + 10);
    const compressed = archive.readUInt32LE(at + 20);
    const size = archive.readUInt32LE(at + 24);
    const nameLength = archive.readUInt16LE(at + 28);
    const extra = archive.readUInt16LE(at + 30);
    const comment = archive.readUInt16LE(at + 32);
    const local = archive.readUInt32LE(at + 42);
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const start = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const data = archive.subarray(start, start + compressed);
    files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    expect(files.get(name)!.length).toBe(size);
    at += 46 + nameLength + extra + comment;
  }
  return files;
}

/** Width, height, and whether every pixel is white or fully transparent (RGBA, filter 0 rows). */
function decodePng(png: Buffer) {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat = png.indexOf('IDAT');
  const raw = inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
  const colours = new Set<string>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * (width * 4 + 1) + 1 + x * 4;
      colours.add(raw.subarray(p, p + 4).join(','));
    }
  }
  return { width, height, colours };
}

describe('gatehouse teams package', () => {
  it('writes a package with a manifest that passes the published schema, and the two icons', async () => {
    const out = path.join(tmp.path, 'app.zip');
    const result = await run(
      '--app-id',
      APP_ID,
      '--public-url',
      'https://gatehouse.example.com/',
      '--out',
      out,
    );
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain(
      'Azure Bot messaging endpoint: https://gatehouse.example.com/api/teams/messages',
    );
    const files = unzip(await readFile(out));
    expect([...files.keys()]).toEqual(['manifest.json', 'color.png', 'outline.png']);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(manifestProblems(manifest)).toEqual([]);
    expect(manifest).toMatchObject({
      manifestVersion: '1.25',
      id: APP_ID,
      bots: [{ botId: APP_ID, scopes: ['team', 'groupChat', 'personal'], isNotificationOnly: false }],
      validDomains: ['gatehouse.example.com'],
      icons: { color: 'color.png', outline: 'outline.png' },
    });
    const color = decodePng(files.get('color.png')!);
    expect([color.width, color.height]).toEqual([192, 192]);
    const outline = decodePng(files.get('outline.png')!);
    expect([outline.width, outline.height]).toEqual([32, 32]);
    // Teams wants the outline icon white on transparent.
    expect([...outline.colours].sort()).toEqual(['0,0,0,0', '255,255,255,255']);
    // The same inputs make the same bytes.
    const again = path.join(tmp.path, 'again.zip');
    await run('--app-id', APP_ID, '--public-url', 'https://gatehouse.example.com', '--out', again);
    expect(await readFile(again)).toEqual(await readFile(out));
  });

  it('takes the public URL from the config', async () => {
    const config = path.join(tmp.path, 'gatehouse.json');
    await writeFile(config, JSON.stringify({ approvals: { publicUrl: 'https://approvals.example.org' } }));
    const out = path.join(tmp.path, 'from-config.zip');
    expect((await run('--config', config, '--app-id', APP_ID, '--out', out)).code).toBe(0);
    const manifest = JSON.parse(
      unzip(await readFile(out))
        .get('manifest.json')!
        .toString('utf8'),
    );
    expect(manifest.validDomains).toEqual(['approvals.example.org']);
  });

  it('takes the bot and its endpoint from the teams-bot channel in the config', async () => {
    const config = path.join(tmp.path, 'with-bot.json');
    await writeFile(
      config,
      JSON.stringify({
        approvals: {
          publicUrl: 'https://approvals.example.org',
          channels: {
            ops: {
              type: 'teams-bot',
              appId: APP_ID,
              appPassword: 'not-needed-for-the-package',
              tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
            },
          },
        },
      }),
    );
    const out = path.join(tmp.path, 'from-channel.zip');
    const result = await run('--config', config, '--out', out);
    expect(result.code, result.err).toBe(0);
    const manifest = JSON.parse(
      unzip(await readFile(out))
        .get('manifest.json')!
        .toString('utf8'),
    );
    expect(manifest.bots[0].botId).toBe(APP_ID);
    expect(manifest.id).toBe(APP_ID);
  });

  it('refuses what the schema or Teams would refuse, naming why, and writes nothing', async () => {
    const out = path.join(tmp.path, 'refused.zip');
    const cases: [string[], RegExp][] = [
      [
        ['--name', 'A name far longer than thirty characters'],
        /\$\.name\.short: must NOT have more than 30 characters/,
      ],
      [['--app-id', 'not-a-guid'], /\$\.id: must match pattern/],
      [['--public-url', 'http://gatehouse.example.com'], /the public URL must be an https URL/],
      [['--privacy-url', 'http://example.com/privacy'], /the privacy statement must be an https URL/],
      [
        ['--developer-name', 'A publisher whose name runs past 32 characters'],
        /\$\.developer\.name: must NOT have more than 32/,
      ],
    ];
    for (const [extra, message] of cases) {
      const args = [
        '--app-id',
        APP_ID,
        '--public-url',
        'https://gatehouse.example.com',
        '--out',
        out,
        ...extra,
      ];
      const result = await run(...args);
      expect(result.code, result.out + result.err).toBe(2);
      expect(result.err).toMatch(message);
      await expect(readFile(out)).rejects.toThrow(/ENOENT/);
    }
  });

  it('says what is missing without a config or flags', async () => {
    const result = await run(
      '--config',
      path.join(tmp.path, 'none.json'),
      '--out',
      path.join(tmp.path, 'x.zip'),
    );
    expect(result.code).toBe(2);
    expect(result.err).toContain('cannot read the config file');
    const config = path.join(tmp.path, 'bare.json');
    await writeFile(config, '{}');
    const bare = await run('--config', config, '--out', path.join(tmp.path, 'x.zip'));
    expect(bare.err).toContain('no bot app id');
  });
});
