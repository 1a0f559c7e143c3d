import { cpSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ansiToHtml, screenText } from '../helpers/ansi.js';
import { launchChromium } from '../helpers/browser.js';
import { scratchDir } from '../helpers/config.js';
import { REPO } from '../helpers/paths.js';
import { freePort, spawnProcess, type Spawned } from '../helpers/processes.js';

/**
 * `npm start` in a fresh clone, in a real terminal (a pseudo-terminal from `script`, 120 columns):
 * the first screen a person reads. Readable lines with colours, no JSON, no routine chatter of the
 * servers, and the ready line with the MCP URL, the approval page and the command that adds an
 * approver. It runs the built CLI (dist/, which `npm install` builds). GATEHOUSE_UPDATE_DOCS=1 saves
 * the screen as docs/first-screen.png for the README (on the README's port, 8787).
 */

const scratch = scratchDir('first-screen');
const clone = scratch.dir;
const updateDocs = process.env.GATEHOUSE_UPDATE_DOCS === '1';
let terminal: Spawned | undefined;

beforeAll(() => {
  for (const item of [
    'package.json',
    'bin',
    'mcp.config.example.json',
    'config.schema.json',
    'policies',
    'sandbox',
    'scripts',
  ]) {
    cpSync(path.join(REPO, item), path.join(clone, item), { recursive: true });
  }
  for (const linked of ['node_modules', 'dist'])
    symlinkSync(path.join(REPO, linked), path.join(clone, linked));
});
afterAll(async () => {
  await terminal?.stop();
  scratch.remove();
});

it("npm start's first screen in a terminal reads as lines for a person", async () => {
  const port = updateDocs ? 8787 : await freePort();
  const npmStart = `stty cols 120 rows 30; exec npm start${port === 8787 ? '' : ` -- --port ${port}`}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', FORCE_COLOR: '1' };
  delete env.NO_COLOR;
  delete env.CI;
  terminal = spawnProcess('script', ['-qfec', npmStart, '/dev/null'], env, clone);
  await new Promise<void>((resolve, reject) => {
    const check = () => (/Gatehouse ready/.test(terminal!.stdout()) ? resolve() : undefined);
    terminal!.child.stdout!.on('data', () => setImmediate(check));
    void terminal!.exited.then((code) =>
      reject(new Error(`npm start exited with ${code}:\n${terminal!.stdout()}`)),
    );
  });
  // The ready line's last part (servers=…) follows in the same write; wait for it.
  await new Promise<void>((resolve) => {
    const check = () => (/servers=\[/.test(terminal!.stdout()) ? resolve() : undefined);
    terminal!.child.stdout!.on('data', check);
    check();
  });
  const screen = terminal.stdout();
  // eslint-disable-next-line no-control-regex
  const text = screenText(screen).replace(/\u001b\[[0-9;]*m/g, '');

  expect(text).toContain('> mcp-gatehouse@');
  expect(text).toContain('created mcp.config.json from mcp.config.example.json');
  expect(text).toMatch(/^\d\d:\d\d:\d\d INFO {2}\[policy\] policy set loaded/m);
  for (const server of ['fs', 'everything', 'memory'])
    expect(text).toContain(`INFO  [${server}] downstream connected`);
  expect(text).toContain(
    `Gatehouse ready: connect an MCP client to http://127.0.0.1:${port}/mcp (Streamable HTTP)`,
  );
  expect(text).toContain(`approve gated calls at http://127.0.0.1:${port}/approvals`);
  expect(text).toContain(
    'add one with `gatehouse approvers add reviewer --group developers --config mcp.config.json`',
  );
  expect(text).not.toMatch(/^\{"level"/m);
  expect(text).not.toContain('Failed to request');
  expect(text).not.toContain('running on stdio');
  expect(screen).toContain('\u001b[32mINFO');

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ deviceScaleFactor: 1 });
    await page.setContent(ansiToHtml(screen, 'npm start'));
    const file = updateDocs
      ? path.join(REPO, 'docs/first-screen.png')
      : path.join(scratch.dir, 'first-screen.png');
    const png = await page.locator('#screen').screenshot({ path: file });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  } finally {
    await browser.close();
  }
});
