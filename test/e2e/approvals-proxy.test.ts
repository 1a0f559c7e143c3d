import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInLocally, useChromium } from '../helpers/browser.js';
import { scratchDir } from '../helpers/config.js';
import { BOB, expectPending, gatedGatehouse, passwordOf, reaches } from '../helpers/gated.js';
import { freePort } from '../helpers/processes.js';

/**
 * Approvers behind a reverse proxy: the browser knows only `approvals.publicUrl`, the proxy forwards to
 * Gatehouse's listener keeping the public Host, as nginx's `proxy_set_header Host $host` does. The
 * listener's Host and Origin checks must accept the public name, and sign-in, CSRF and redirects must
 * keep the browser on it.
 */

const scratch = scratchDir('approvals-proxy');
const PROXY_PORT = await freePort();
const PUBLIC_URL = `http://localhost:${PROXY_PORT}`;
const gated = gatedGatehouse(scratch, 'proxied', {
  approvals: {
    store: path.join(scratch.dir, 'proxied-store.json'),
    sweepIntervalMs: 100,
    publicUrl: PUBLIC_URL,
  },
});
const { newPage } = useChromium();
let proxy: Server;
/** Host headers as Gatehouse received them through the proxy. */
const hostsSeen = new Set<string>();

beforeAll(async () => {
  const upstream = new URL(gated.url);
  proxy = createServer((req, res) => {
    hostsSeen.add(req.headers.host ?? '');
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.writeHead(502).end());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.listen(PROXY_PORT, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => {
    if (!proxy) return resolve();
    proxy.close(() => resolve());
    proxy.closeAllConnections();
  });
});

describe('the approval page behind a reverse proxy', () => {
  it('bob signs in and approves at the public URL; the browser never leaves it and the call runs once', async () => {
    const target = path.join(gated.setUp.files, 'via-proxy.txt');
    const { approvalId } = expectPending(
      await gated.writeFile('via-proxy.txt', 'approved through the proxy'),
      'fs-write',
      true,
    );

    const page = await newPage();
    const visited: string[] = [];
    page.on('framenavigated', (frame) => visited.push(new URL(frame.url()).origin));
    await signInLocally(
      page,
      PUBLIC_URL,
      { user: BOB.id, password: passwordOf(BOB) },
      `/approvals/${approvalId}`,
    );
    await page.click('button:has-text("Approve this exact call")');
    expect(new URL(page.url()).pathname).toBe(`/approvals/${approvalId}`);

    const executed = await reaches(gated.approvals, approvalId, 'executed');
    expect(executed.decisions).toMatchObject([{ approver: BOB, decision: 'approve', channel: 'web' }]);
    expect(readFileSync(target, 'utf8')).toBe('approved through the proxy');
    expect(new Set(visited)).toEqual(new Set([PUBLIC_URL]));
    expect(hostsSeen).toEqual(new Set([`localhost:${PROXY_PORT}`]));
  });

  it('another public name through the same proxy is refused by the Host check', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const probe = request(
        { host: '127.0.0.1', port: PROXY_PORT, path: '/approvals', headers: { host: 'evil.example' } },
        (answer) => {
          answer.resume();
          resolve(answer.statusCode ?? 0);
        },
      );
      probe.on('error', reject);
      probe.end();
    });
    expect(status).toBe(403);
  });
});
