import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestClient } from '../helpers/client.js';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startHttpGatehouse, statusCommand, type HttpGatehouse } from '../helpers/gatehouse.js';
import { AUDIENCE, forgedTokens, startTestIssuer, type TestIssuer } from '../helpers/issuer.js';
import { REPO } from '../helpers/paths.js';

/**
 * The HTTP caller: a static bearer token or a JWT verified against a JWKS served on 127.0.0.1, checked
 * on every request; the principal reaches policies as caller.id and caller.groups. The policy set
 * fixtures/policies/identity allows alice over HTTP and anyone in ops, and denies everyone else.
 */

const POLICIES = path.join(REPO, 'fixtures/policies/identity');
const ALICE_TOKEN = 'alice-static-token-0123456789';
const BOB_TOKEN = 'bob-static-token-0123456789';

const scratch = scratchDir('identity');
let issuer: TestIssuer;
let gatehouse: HttpGatehouse;
/** Every secret a test sent: none may show up in the log. */
const sent = new Set<string>([ALICE_TOKEN, BOB_TOKEN]);

beforeAll(async () => {
  issuer = await startTestIssuer();
  const config = gatehouseConfig(
    { twin: fixtureServer('twin', {}, 'one') },
    {
      policies: POLICIES,
      identity: {
        tokens: [
          { token: ALICE_TOKEN, id: 'alice' },
          { token: BOB_TOKEN, id: 'bob', groups: ['dev'] },
        ],
        jwt: {
          issuer: issuer.issuer,
          audience: AUDIENCE,
          jwksUri: issuer.jwksUri,
          scopes: ['mcp:tools'],
        },
      },
    },
  );
  gatehouse = await startHttpGatehouse(scratch.write('config.json', config));
});
afterAll(async () => {
  await gatehouse?.stop();
  await issuer?.close();
  scratch.remove();
});

/** What every challenge adds with a JWT issuer configured: where to learn how to get a token. */
const hints = () =>
  `resource_metadata="${gatehouse.baseUrl}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"`;

const bearer = (token: string) => {
  sent.add(token);
  return `Bearer ${token}`;
};

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
const LIST_TOOLS = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

/** One raw request to /mcp, read to the end. */
async function send(
  headers: Record<string, string>,
  options: { method?: string; body?: object } = { body: INITIALIZE },
) {
  const response = await fetch(gatehouse.mcpUrl, {
    method: options.method ?? 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  return {
    status: response.status,
    challenge: response.headers.get('www-authenticate'),
    sessionId: response.headers.get('mcp-session-id'),
    body: await response.text(),
  };
}

/** An SDK client whose Authorization header can change between requests, as a refreshing client's would. */
async function connectAs(authorization: string) {
  const headers: Record<string, string> = { Authorization: authorization };
  const transport = new StreamableHTTPClientTransport(new URL(gatehouse.mcpUrl), {
    requestInit: { headers },
  });
  const client = await connectTestClient(transport, { capabilities: 'none' });
  return { ...client, headers };
}

async function whoami(authorization: string) {
  const client = await connectAs(authorization);
  try {
    return (await client.client.callTool({ name: 'twin__whoami', arguments: {} })) as CallToolResult;
  } finally {
    await client.close();
  }
}

const ran = (result: CallToolResult) => !result.isError && JSON.stringify(result.content).includes('one');
const denied = (result: CallToolResult) =>
  result.isError === true && JSON.stringify(result.content).includes('Gatehouse denied');

describe('static bearer tokens', () => {
  it('no token: 401, a Bearer challenge without an error code, and a JSON-RPC error', async () => {
    const response = await send({});
    expect(response.status).toBe(401);
    expect(response.challenge).toBe(`Bearer realm="gatehouse", ${hints()}`);
    expect(JSON.parse(response.body)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: expect.stringContaining('Unauthorized') },
    });
  });

  it('a wrong token: 401 invalid_token, nothing but the reason in the body', async () => {
    const response = await send({ authorization: bearer('not-a-known-token-0123456789') });
    expect(response.status).toBe(401);
    expect(response.challenge).toBe(
      `Bearer realm="gatehouse", error="invalid_token", error_description="unknown bearer token", ${hints()}`,
    );
    expect(JSON.parse(response.body)).toMatchObject({
      error: { message: 'Unauthorized: unknown bearer token' },
    });
    expect(response.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('alice\'s token is alice: the policy for caller.id == "alice" over HTTP lets her call', async () => {
    expect(ran(await whoami(bearer(ALICE_TOKEN)))).toBe(true);
  });

  it("bob's token is bob, whom the policy denies", async () => {
    expect(denied(await whoami(bearer(BOB_TOKEN)))).toBe(true);
  });
});

describe('a session belongs to the principal that opened it', () => {
  let sessionId: string;
  beforeAll(async () => {
    const opened = await send({ authorization: bearer(ALICE_TOKEN) });
    expect(opened.status).toBe(200);
    sessionId = opened.sessionId!;
  });
  const inSession = (authorization?: string) => ({
    'mcp-session-id': sessionId,
    ...(authorization ? { authorization } : {}),
  });

  it("bob's token in alice's session: 403, for a call, the event stream and closing it", async () => {
    expect((await send(inSession(bearer(BOB_TOKEN)), { body: LIST_TOOLS })).status).toBe(403);
    expect(
      (await send({ ...inSession(bearer(BOB_TOKEN)), accept: 'text/event-stream' }, { method: 'GET' }))
        .status,
    ).toBe(403);
    expect((await send(inSession(bearer(BOB_TOKEN)), { method: 'DELETE' })).status).toBe(403);
  });

  it('no token in the session: 401 (every request authenticates, not only initialize)', async () => {
    expect((await send(inSession(), { body: LIST_TOOLS })).status).toBe(401);
  });

  it('alice keeps using her session', async () => {
    const response = await send(inSession(bearer(ALICE_TOKEN)), { body: LIST_TOOLS });
    expect(response.status).toBe(200);
    expect(response.body).toContain('twin__whoami');
  });

  it('the SDK client sees a 403 when its token changes to another principal mid-session', async () => {
    const client = await connectAs(bearer(ALICE_TOKEN));
    try {
      client.headers.Authorization = bearer(BOB_TOKEN);
      await expect(client.client.listTools()).rejects.toThrow(/403|Forbidden/);
    } finally {
      client.headers.Authorization = bearer(ALICE_TOKEN);
      await client.close();
    }
  });
});

describe('JWT access tokens', () => {
  it('a valid token is its subject, and its groups reach the policy ("ops" in caller.groups)', async () => {
    expect(ran(await whoami(bearer(await issuer.sign({ sub: 'carol', groups: ['ops'] }))))).toBe(true);
    expect(ran(await whoami(bearer(await issuer.sign({ sub: 'carol', groups: 'dev ops' }))))).toBe(true);
    expect(denied(await whoami(bearer(await issuer.sign({ sub: 'carol', groups: ['dev'] }))))).toBe(true);
  });

  it('a refreshed token with fewer groups counts at once within the session', async () => {
    const client = await connectAs(bearer(await issuer.sign({ sub: 'carol', groups: ['ops'] })));
    try {
      const call = async () =>
        (await client.client.callTool({ name: 'twin__whoami', arguments: {} })) as CallToolResult;
      expect(ran(await call())).toBe(true);
      client.headers.Authorization = bearer(await issuer.sign({ sub: 'carol', groups: [] }));
      expect(denied(await call())).toBe(true);
    } finally {
      await client.close();
    }
  });

  const refused: [string, () => Promise<string>, string][] = [
    ...forgedTokens(() => issuer),
    [
      "whose subject is a static token's principal",
      () => issuer.sign({ sub: 'alice' }),
      "the token's subject is the id of a static-token principal",
    ],
  ];

  it.each(refused)('a token %s: 401 invalid_token', async (_what, token, reason) => {
    const response = await send({ authorization: bearer(await token()) });
    expect(response.status).toBe(401);
    expect(response.challenge).toBe(
      `Bearer realm="gatehouse", error="invalid_token", error_description="${reason}", ${hints()}`,
    );
    expect(JSON.parse(response.body)).toMatchObject({
      jsonrpc: '2.0',
      error: { message: `Unauthorized: ${reason}` },
    });
  });

  it('the JWKS was fetched from the issuer', () => {
    expect(issuer.fetches()).toBeGreaterThan(0);
  });
});

describe('OAuth protected-resource metadata (RFC 9728)', () => {
  it('is served where the SDK client looks for it, naming the issuer to get a token from', async () => {
    const expected = {
      resource: gatehouse.mcpUrl,
      authorization_servers: [issuer.issuer],
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse',
      scopes_supported: ['mcp:tools'],
    };
    // The SDK's own discovery: the path-suffixed well-known URL of the MCP endpoint.
    expect(await discoverOAuthProtectedResourceMetadata(new URL(gatehouse.mcpUrl))).toEqual(expected);
    const root = await fetch(`${gatehouse.baseUrl}/.well-known/oauth-protected-resource`);
    expect(root.status).toBe(200);
    expect(OAuthProtectedResourceMetadataSchema.parse(await root.json())).toEqual(expected);
  });

  it("a 401's challenge leads the SDK client to that document", async () => {
    const response = await fetch(gatehouse.mcpUrl, { method: 'POST', body: '{}' });
    expect(response.status).toBe(401);
    const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(response);
    expect(resourceMetadataUrl?.href).toBe(`${gatehouse.baseUrl}/.well-known/oauth-protected-resource/mcp`);
    expect(scope).toBe('mcp:tools');
    expect((await fetch(resourceMetadataUrl!)).status).toBe(200);
  });

  it('needs no token, and only GET reads it', async () => {
    const path = `${gatehouse.baseUrl}/.well-known/oauth-protected-resource/mcp`;
    expect((await fetch(path, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${gatehouse.baseUrl}/.well-known/oauth-protected-resource/other`)).status).toBe(404);
  });
});

describe('the status endpoint', () => {
  it("needs a caller's token where MCP does, and /healthz stays open", async () => {
    const anonymous = await fetch(`${gatehouse.baseUrl}/status`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('twin');
    const withToken = await fetch(`${gatehouse.baseUrl}/status`, {
      headers: { authorization: bearer(BOB_TOKEN) },
    });
    expect(withToken.status).toBe(200);
    expect(((await withToken.json()) as { servers: { name: string }[] }).servers).toEqual([
      expect.objectContaining({ name: 'twin', state: 'ready' }),
    ]);
    expect((await fetch(`${gatehouse.baseUrl}/healthz`)).status).toBe(200);
  });

  it('`gatehouse status` sends GATEHOUSE_TOKEN, and says to set it when it is missing', async () => {
    const saved = process.env.GATEHOUSE_TOKEN;
    try {
      delete process.env.GATEHOUSE_TOKEN;
      const refused = await statusCommand(gatehouse.baseUrl);
      expect(refused.code).toBe(1);
      expect(refused.lines.join('\n')).toContain(
        "requires a caller's token for its status: set GATEHOUSE_TOKEN",
      );

      process.env.GATEHOUSE_TOKEN = bearer(ALICE_TOKEN).slice('Bearer '.length);
      const shown = await statusCommand(gatehouse.baseUrl);
      expect(shown.code).toBe(0);
      expect(shown.lines.some((line) => line.startsWith('twin') && line.includes('ready'))).toBe(true);

      process.env.GATEHOUSE_TOKEN = 'not-a-token-at-all-0123456789';
      sent.add(process.env.GATEHOUSE_TOKEN);
      const wrong = await statusCommand(gatehouse.baseUrl);
      expect(wrong.lines.join('\n')).toContain('the token in GATEHOUSE_TOKEN was refused');
    } finally {
      if (saved === undefined) delete process.env.GATEHOUSE_TOKEN;
      else process.env.GATEHOUSE_TOKEN = saved;
    }
  });
});

describe('the log', () => {
  it('names refusals and who opened sessions, but never a token', async () => {
    // The lines may trail the responses the tests above already saw.
    await gatehouse.waitForStderr((line) => line.includes('"msg":"session used by another principal"'));
    await gatehouse.waitForStderr((line) => line.includes('"reason":"unknown bearer token"'));
    const log = gatehouse.stderr();
    expect(log).toContain('"msg":"MCP request not authenticated"');
    expect(log).toContain('"reason":"unknown bearer token"');
    expect(log).toContain('"msg":"session used by another principal"');
    expect(log).toMatch(/"caller":"carol".*"msg":"client session opened"/);
    for (const secret of sent) expect(log).not.toContain(secret);
  });
});

describe('static tokens only', () => {
  it('no issuer to point at: a bare challenge and no protected-resource metadata', async () => {
    const config = gatehouseConfig(
      { twin: fixtureServer('twin', {}, 'one') },
      { policies: POLICIES, identity: { tokens: [{ token: ALICE_TOKEN, id: 'alice' }] } },
    );
    const tokensOnly = await startHttpGatehouse(scratch.write('tokens-only.json', config));
    try {
      const response = await fetch(tokensOnly.mcpUrl, { method: 'POST', body: '{}' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
      const metadata = await fetch(`${tokensOnly.baseUrl}/.well-known/oauth-protected-resource/mcp`);
      expect(metadata.status).toBe(404);
    } finally {
      await tokensOnly.stop();
    }
  });
});

describe('no HTTP identity configured', () => {
  it('HTTP callers are the stdio identity, and a listener beyond loopback is warned about', async () => {
    const config = gatehouseConfig(
      { twin: fixtureServer('twin', {}, 'one') },
      { policies: POLICIES, http: { host: '0.0.0.0', port: 0 }, identity: { user: 'alice' } },
    );
    const open = await startHttpGatehouse(scratch.write('open.json', config));
    try {
      expect(open.stderr()).toContain('MCP is served beyond this machine without authentication');
      const transport = new StreamableHTTPClientTransport(new URL(open.mcpUrl));
      const client = await connectTestClient(transport, { capabilities: 'none' });
      const result = (await client.client.callTool({
        name: 'twin__whoami',
        arguments: {},
      })) as CallToolResult;
      await client.close();
      expect(ran(result)).toBe(true);
    } finally {
      await open.stop();
    }
  });
});
