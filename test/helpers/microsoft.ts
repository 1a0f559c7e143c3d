import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

/**
 * Microsoft's services, played by real HTTP servers on 127.0.0.1: the Bot Framework's OpenID metadata
 * and keys, the Entra token endpoint, the Bot Connector and a Teams Workflows trigger. Each records what
 * Gatehouse sent and answers as the real one does; `failNext` scripts the next answers (429 with
 * Retry-After, 5xx, a refusal).
 */

export interface Received {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Scripted {
  /** Only for a request of this method (the others get their usual answer); any method when absent. */
  method?: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface FakeService {
  url: string;
  received: Received[];
  /** The next requests get these answers, in order, instead of the usual one. */
  failNext(...answers: Scripted[]): void;
  close(): Promise<void>;
}

async function startFake(answer: (request: Received) => Scripted): Promise<FakeService> {
  const received: Received[] = [];
  const scripted: Scripted[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      const next = scripted.findIndex((s) => s.method === undefined || s.method === request.method);
      const { status, headers = {}, body } = next >= 0 ? scripted.splice(next, 1)[0]! : answer(request);
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    failNext: (...answers) => void scripted.push(...answers),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export const BOT_ISSUER = 'https://api.botframework.com';
export const TEAMS_KID = 'bf-test-key';

export interface BotFramework extends FakeService {
  /** The OpenID metadata URL (its jwks_uri is on the same server). */
  metadata: string;
  /** How many times the keys were fetched. */
  keyFetches(): number;
  /** A token as the Bot Framework signs one for `appId`, over defaults; `key` and `kid` forge others. */
  sign(claims: JWTPayload, options?: { kid?: string; key?: CryptoKey }): Promise<string>;
}

/** The Bot Framework's token issuer: metadata and keys (endorsed for msteams), and tokens signed with its key. */
export async function startBotFramework(): Promise<BotFramework> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = {
    ...(await exportJWK(publicKey)),
    kid: TEAMS_KID,
    use: 'sig',
    endorsements: ['msteams', 'webchat'],
  };
  let fetches = 0;
  let base = '';
  const fake = await startFake(({ url }) => {
    if (url === '/v1/.well-known/openidconfiguration') {
      return { status: 200, body: { issuer: BOT_ISSUER, jwks_uri: `${base}/v1/.well-known/keys` } };
    }
    if (url === '/v1/.well-known/keys') {
      fetches += 1;
      return { status: 200, body: { keys: [jwk] } };
    }
    return { status: 404 };
  });
  base = fake.url;
  return {
    ...fake,
    metadata: `${base}/v1/.well-known/openidconfiguration`,
    keyFetches: () => fetches,
    sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: BOT_ISSUER, iat: now, nbf: now, exp: now + 3600, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? TEAMS_KID, typ: 'JWT' })
        .sign(options.key ?? privateKey);
    },
  };
}

export interface Entra extends FakeService {
  /** Every access token it issued, in order. */
  issued: string[];
  /** The form fields of each token request. */
  forms(): URLSearchParams[];
}

/** A client secret Entra refuses, every time, as it does a wrong one. */
export const WRONG_SECRET = 'wrong-secret';

/** The Entra token endpoint: client credentials in, a bearer token out; WRONG_SECRET refused. */
export async function startEntra(): Promise<Entra> {
  const issued: string[] = [];
  const fake = await startFake(({ method, url, body }) => {
    if (method !== 'POST' || !/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(url)) return { status: 404 };
    if (new URLSearchParams(body).get('client_secret') === WRONG_SECRET) {
      return {
        status: 401,
        body: {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
        },
      };
    }
    const token = `entra-token-${issued.length + 1}-${randomUUID()}`;
    issued.push(token);
    return {
      status: 200,
      body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token },
    };
  });
  return { ...fake, issued, forms: () => fake.received.map((r) => new URLSearchParams(r.body)) };
}

export interface Connector extends FakeService {
  /** The cards posted or updated, with where they went. */
  cards(): { method: string; conversationId: string; activityId?: string; card: Record<string, unknown> }[];
}

/**
 * The Bot Connector: POST …/v3/conversations/{id}/activities answers the new activity's id, PUT
 * …/activities/{activityId} replaces it, GET …/members/{objectId} answers the member `members` names
 * (their Teams id, or a status to fail with; anyone else is no member: 404). A bearer token Entra did
 * not issue gets 401, as it would.
 */
export async function startConnector(
  entra: Entra,
  members: Record<string, string | number> = {},
): Promise<Connector> {
  let next = 0;
  const fake = await startFake(({ method, url, headers }) => {
    if (!entra.issued.some((token) => headers.authorization === `Bearer ${token}`)) return { status: 401 };
    const member = /^\/v3\/conversations\/[^/]+\/members\/([^/]+)$/.exec(url);
    if (member && method === 'GET') {
      const objectId = decodeURIComponent(member[1]!);
      const known = members[objectId];
      if (known === undefined)
        return { status: 404, body: { error: { code: 'NotFound', message: 'not a member' } } };
      if (typeof known === 'number') return { status: known };
      return { status: 200, body: { id: known, objectId, tenantId: TENANT, userRole: 'user' } };
    }
    const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url);
    if (!match) return { status: 404 };
    if (method === 'POST' && !match[2]) return { status: 201, body: { id: `activity-${++next}` } };
    if (method === 'PUT' && match[2]) return { status: 200, body: { id: decodeURIComponent(match[2]) } };
    return { status: 405 };
  });
  return {
    ...fake,
    cards: () =>
      fake.received
        .filter((r) => r.method === 'POST' || r.method === 'PUT')
        .filter((r) => r.body !== '')
        .map((r) => {
          const [, conversationId, activityId] =
            /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(r.url)!;
          const activity = JSON.parse(r.body) as { attachments: { content: Record<string, unknown> }[] };
          return {
            method: r.method,
            conversationId: decodeURIComponent(conversationId!),
            ...(activityId ? { activityId: decodeURIComponent(activityId) } : {}),
            card: activity.attachments[0]!.content,
          };
        }),
  };
}

/** A Teams Workflows trigger ("When a Teams webhook request is received"): 202 for each post. */
export async function startWorkflow(): Promise<FakeService & { trigger: string }> {
  const fake = await startFake(({ method }) => (method === 'POST' ? { status: 202 } : { status: 405 }));
  return {
    ...fake,
    trigger: `${fake.url}/workflows/7f3a/triggers/manual/paths/invoke?api-version=1&sig=s3cr3t-signature`,
  };
}

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const APP_ID = '00000000-0000-0000-0000-00000000b07a';
export const OTHER_TENANT = '11111111-1111-1111-1111-111111111111';

export interface ActivityOptions {
  serviceUrl: string;
  conversationId?: string;
  tenantId?: string;
  fromAadObjectId?: string;
  channelId?: string;
}

/** An activity as Teams sends it to the bot. */
export function teamsActivity(
  type: string,
  extra: Record<string, unknown>,
  options: ActivityOptions,
): Record<string, unknown> {
  const tenantId = options.tenantId ?? TENANT;
  return {
    type,
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    channelId: options.channelId ?? 'msteams',
    serviceUrl: options.serviceUrl,
    from: { id: `29:${randomUUID()}`, name: 'Someone', aadObjectId: options.fromAadObjectId },
    recipient: { id: `28:${APP_ID}`, name: 'Gatehouse' },
    conversation: {
      id: options.conversationId ?? '19:approvals@thread.tacv2',
      conversationType: 'channel',
      tenantId,
      isGroup: true,
    },
    channelData: { tenant: { id: tenantId }, team: { id: '19:approvals@thread.tacv2' } },
    ...extra,
  };
}

/** A click on a card's Action.Execute (or Teams refreshing it): an adaptiveCard/action invoke. */
export function cardAction(
  verb: string,
  data: Record<string, string>,
  options: ActivityOptions & { trigger?: 'manual' | 'automatic' },
) {
  return teamsActivity(
    'invoke',
    {
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb, data }, trigger: options.trigger ?? 'manual' },
    },
    options,
  );
}
