import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { QuarantinedRecord } from '../../src/approvals/quarantine.js';
import type { ApprovalRequest, ApprovalState } from '../../src/approvals/request.js';
import {
  createApprovalService,
  missing,
  type ApprovalService,
  type ApprovalServiceDeps,
} from '../../src/approvals/service.js';
import { createEventBus } from '../../src/audit/bus.js';
import {
  NOT_PENDING,
  applyDecision,
  newApprovalRequest,
  type NewApprovalRequest,
} from '../../src/approvals/states.js';
import { hashPassword } from '../../src/approvals/web/auth/password.js';
import { createApprovalWeb, type ApprovalWeb } from '../../src/approvals/web/index.js';
import { ConfigSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { startHttpFront } from '../../src/front/http.js';
import type { FrontDeps } from '../../src/front/session.js';
import { createHttpAuthenticator } from '../../src/identity/index.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { createMemoryStore, type ApprovalStore } from '../../src/store/index.js';

/** Arguments as given, with a fixed digest: for tests where redaction is not what is tested. */
export const plainArguments = (args: Record<string, unknown>) => ({
  value: args as Record<string, never>,
  redacted: [],
  digest: `hmac-sha256:${'0'.repeat(64)}`,
});

/** A service on `store` whose executor does nothing and whose sweep waits an hour, unless overridden. */
export function serviceWithoutExecution(
  store: ApprovalServiceDeps['store'],
  overrides: Partial<ApprovalServiceDeps> = {},
) {
  return createApprovalService({
    store,
    executor: () => ({ execute: async () => undefined as never, drain: async () => undefined }),
    events: createEventBus(undefined, silentLogger),
    redact: plainArguments,
    retentionMs: 60_000,
    archiveAfterMs: 3_600_000,
    sweepIntervalMs: 3_600_000,
    logger: silentLogger,
    ...overrides,
  });
}

/**
 * An ApprovalService over the real state machine and the in-memory store, without execution: what the
 * approval page and API need, for tests of channels. `add` creates requests the way the pipeline would.
 */
export interface FakeApprovalService extends ApprovalService {
  store: ApprovalStore;
  add(overrides?: Partial<NewApprovalRequest>, createdAt?: Date): Promise<ApprovalRequest>;
  /** Every request as stored, for "nothing changed" assertions. */
  snapshot(): Promise<string>;
}

export function createFakeApprovalService(
  now: () => Date = () => new Date(),
  quarantined: readonly QuarantinedRecord[] = [],
): FakeApprovalService {
  const store = createMemoryStore([], [], quarantined);
  const listeners = new Set<(request: ApprovalRequest) => void>();
  const emit = (request: ApprovalRequest) => listeners.forEach((listener) => listener(request));

  return {
    store,
    list: (filter?: { states?: readonly ApprovalState[] }) => store.list(filter),
    listPage: (filter, page) => store.listPage(filter, page),
    recentlyChanged: (limit) => store.latestChanged(NOT_PENDING, limit),
    get: (id) => store.get(id),
    quarantined: () => store.quarantined(),
    async decide(id, input) {
      if (!(await store.get(id))) throw await missing(store, id);
      const { ok, request } = await store.transition(id, 'pending', (current) =>
        applyDecision(current, input, now()),
      );
      // Lost the compare-and-set: the state machine words the refusal for the state it found.
      if (!ok) applyDecision(request, input, now());
      emit(request);
      return request;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async add(overrides = {}, createdAt = now()) {
      const { request } = await store.create(newApprovalRequest(sampleInput(overrides), createdAt));
      emit(request);
      return request;
    },
    async snapshot() {
      return JSON.stringify(await store.list());
    },
  };
}

let sampleCount = 0;

/**
 * A write_file call by alice that one member of `security` must approve; override anything. Each call
 * writes another file, so its digest differs and the store does not join it to an earlier request.
 */
export function sampleInput(overrides: Partial<NewApprovalRequest> = {}): NewApprovalRequest {
  sampleCount += 1;
  return {
    id: randomUUID(),
    server: 'fs',
    tool: 'write_file',
    exposedName: 'fs__write_file',
    toolDefinitionDigest: 'd'.repeat(64),
    arguments: { path: `/tmp/report-${sampleCount}.txt`, content: 'quarterly numbers' },
    caller: { id: 'alice', groups: ['dev'] },
    reason: 'writing files needs a second pair of eyes',
    requirements: [{ rule: 'fs-writes', approvers: ['group:security'], quorum: 1 }],
    ttlMs: 3_600_000,
    policyVersion: 'p1',
    ...overrides,
  };
}

export const PASSWORDS = {
  alice: 'alice-password-1',
  bob: 'bob-password-2',
  carol: 'carol-password-3',
} as const;

/** Approver accounts with cheap hashes (the format's low bound) so tests stay fast. */
export async function testAccounts() {
  const cheap = { ln: 10, r: 8, p: 1 };
  return [
    { id: 'alice', groups: ['dev'], passwordHash: await hashPassword(PASSWORDS.alice, cheap) },
    { id: 'bob', groups: ['security'], passwordHash: await hashPassword(PASSWORDS.bob, cheap) },
    { id: 'carol', groups: ['marketing'], passwordHash: await hashPassword(PASSWORDS.carol, cheap) },
  ];
}

/** A complete, defaulted Config as loadConfig would return it, from a partial input. */
export function testConfig(input: Partial<ConfigInput> = {}): Config {
  const {
    mcpServers: _servers,
    servers: _vsServers,
    $schema: _schema,
    ...parsed
  } = ConfigSchema.parse(input);
  return { ...parsed, file: '/nonexistent/gatehouse.json', servers: {} };
}

export interface ApprovalWebHarness {
  url: string;
  web: ApprovalWeb;
  close(): Promise<void>;
}

/** The approval page and API on Gatehouse's own HTTP listener (without MCP) on 127.0.0.1, port 0. */
export async function startApprovalWeb(options: {
  service: ApprovalService;
  config: Config;
  now?: () => number;
  logger?: Logger;
  /** The public base URL, when it is not the listener itself (OIDC redirect URIs, Secure cookies). */
  baseUrl?: string;
}): Promise<ApprovalWebHarness> {
  let url = '';
  const web = createApprovalWeb({
    service: options.service,
    config: options.config,
    logger: options.logger ?? silentLogger,
    baseUrl: () => options.baseUrl ?? url,
    ...(options.now ? { now: options.now } : {}),
  });
  // The real listener, with its Host and Origin checks, serving only the page and the API.
  const front = await startHttpFront({
    config: { ...options.config, http: { ...options.config.http, host: '127.0.0.1', port: 0 } },
    deps: {} as FrontDeps,
    serveMcp: false,
    authenticator: createHttpAuthenticator(options.config.identity, silentLogger),
    status: () => ({}),
    logger: options.logger ?? silentLogger,
    routes: web.routes,
  });
  url = front.url;
  return {
    url,
    web,
    async close() {
      await web.close();
      await front.close();
    },
  };
}

/** The page and API with the test accounts signing in locally, over a fake service on the same clock. */
export async function startLocalApprovalWeb(
  options: {
    now?: () => number;
    sessionTtlMs?: number;
    baseUrl?: string;
    quarantined?: readonly QuarantinedRecord[];
  } = {},
) {
  const { now, baseUrl } = options;
  const service = createFakeApprovalService(now ? () => new Date(now()) : undefined, options.quarantined);
  const accounts = await testAccounts();
  const approvers = options.sessionTtlMs ? { accounts, sessionTtlMs: options.sessionTtlMs } : { accounts };
  const web = await startApprovalWeb({
    service,
    config: testConfig({ approvers }),
    ...(now ? { now } : {}),
    ...(baseUrl ? { baseUrl } : {}),
  });
  return { service, web };
}

/** `startLocalApprovalWeb` for one test file: started in beforeAll, closed in afterAll. */
export function useLocalApprovalWeb(options: Parameters<typeof startLocalApprovalWeb>[0] = {}) {
  const held = {} as { service: FakeApprovalService; web: ApprovalWebHarness };
  beforeAll(async () => {
    Object.assign(held, await startLocalApprovalWeb(options));
  });
  afterAll(() => held.web?.close());
  return held;
}
