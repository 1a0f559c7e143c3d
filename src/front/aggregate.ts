import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {
  CompleteResultSchema,
  GetPromptResultSchema,
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ReadResourceResultSchema,
  ResultSchema,
  type CompleteRequest,
  type LoggingLevel,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { buildCatalog, collisionReporter, type Catalog } from '../downstream/catalog.js';
import type { DownstreamConnection, ForwardOptions } from '../downstream/connection.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { passThrough } from '../shared/passThrough.js';
import type { Requester } from './sessions.js';

interface Ctx {
  signal?: AbortSignal;
}

/** How a client request that goes to one server travels there. */
export type Forwarding = Omit<ForwardOptions, 'sessionId'>;

/** A session's request toward a server: routed back to the session, at the log level it asked for. */
const forwardFor = (session: Requester, ctx: Forwarding): ForwardOptions => ({
  ...ctx,
  sessionId: session.id,
  logLevel: session.logLevel,
});

/** Params as the client sent them: Gatehouse forwards every field, renaming only what it exposes renamed. */
type Params = Record<string, unknown>;

/*
 * Every answer is validated with the SDK's schema and passed on as the server sent it: items of lists
 * keep every field (only names Gatehouse exposes prefixed get the prefix); single answers pass whole.
 * A merged list's own envelope (nextCursor, _meta of each page) is Gatehouse's: it fetches every page of
 * every server and answers with one list.
 */
const AS_SENT = {
  listResources: passThrough(ListResourcesResultSchema),
  listTemplates: passThrough(ListResourceTemplatesResultSchema),
  listPrompts: passThrough(ListPromptsResultSchema),
  read: passThrough(ReadResourceResultSchema),
  prompt: passThrough(GetPromptResultSchema),
  complete: passThrough(CompleteResultSchema),
  // The spec's answer is empty; whatever else a server adds is its business and passes on.
  empty: passThrough(ResultSchema),
};

/**
 * Everything but tools/call, aggregated over the ready servers: lists fan out and merge (every page of
 * every server, so one answer holds all), and single-item requests route to the owning server.
 * Resource URIs are not renamed (tool results link to them); prompts and templates get the prefix.
 */
export function createAggregate(pool: DownstreamPool, logger: Logger) {
  const log = logger.child({ module: 'aggregate' });
  const reportCollisions = collisionReporter(log);
  const resourceOwners = new Map<string, string>();
  let prompts: Catalog<Prompt> = { byExposedName: new Map(), collisions: [] };
  let templates: Catalog<ResourceTemplate> = { byExposedName: new Map(), collisions: [] };

  function offering(capability: keyof ServerCapabilities): DownstreamConnection[] {
    return pool.ready().filter((c) => c.capabilities[capability] !== undefined);
  }

  /** Every page of a list request on one server. */
  async function listAll<S extends z.ZodType, K extends string>(
    connection: DownstreamConnection,
    method: string,
    key: K,
    schema: S,
    session: Requester,
    ctx: Ctx,
  ): Promise<unknown[]> {
    const items: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = (await connection.request({ method, params: cursor ? { cursor } : {} }, schema, {
        sessionId: session.id,
        signal: ctx.signal,
      })) as Record<K, unknown[]> & { nextCursor?: string };
      items.push(...page[key]);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  }

  /** Fan a list out; a server that fails is left out of the answer and logged, not fatal to it. */
  async function fanOut<T>(
    capability: keyof ServerCapabilities,
    list: (c: DownstreamConnection) => Promise<T[]>,
  ): Promise<{ server: DownstreamConnection; items: T[] }[]> {
    const settled = await Promise.allSettled(
      offering(capability).map(async (server) => ({ server, items: await list(server) })),
    );
    const out: { server: DownstreamConnection; items: T[] }[] = [];
    for (const result of settled) {
      if (result.status === 'fulfilled') out.push(result.value);
      else
        log.warn({ reason: String(result.reason) }, 'a server failed a list request; left out of the answer');
    }
    return out;
  }

  async function listResources(session: Requester, ctx: Ctx): Promise<{ resources: Resource[] }> {
    const perServer = await fanOut(
      'resources',
      (c) =>
        listAll(c, 'resources/list', 'resources', AS_SENT.listResources, session, ctx) as Promise<Resource[]>,
    );
    const resources: Resource[] = [];
    for (const { server, items } of perServer) {
      for (const resource of items) {
        resourceOwners.set(resource.uri, server.name);
        resources.push(resource);
      }
    }
    return { resources };
  }

  async function listResourceTemplates(
    session: Requester,
    ctx: Ctx,
  ): Promise<{ resourceTemplates: ResourceTemplate[] }> {
    const perServer = await fanOut(
      'resources',
      (c) =>
        listAll(
          c,
          'resources/templates/list',
          'resourceTemplates',
          AS_SENT.listTemplates,
          session,
          ctx,
        ) as Promise<ResourceTemplate[]>,
    );
    templates = buildCatalog(
      perServer.map(({ server, items }) => ({ server: server.name, prefix: server.config.prefix, items })),
    );
    reportCollisions('resource template', templates);
    return {
      resourceTemplates: [...templates.byExposedName.values()].map((e) => ({
        ...e.item,
        name: e.exposedName,
      })),
    };
  }

  async function ownerOfUri(uri: string, session: Requester, ctx: Ctx): Promise<DownstreamConnection> {
    const known = resourceOwners.get(uri);
    const connection = known ? pool.get(known) : undefined;
    if (connection) return connection;
    for (const entry of templates.byExposedName.values()) {
      if (new UriTemplate(entry.item.uriTemplate).match(uri)) {
        const owner = pool.get(entry.server);
        if (owner) return owner;
      }
    }
    const candidates = offering('resources');
    if (candidates.length === 1) return candidates[0]!;
    if (!known && resourceOwners.size === 0 && templates.byExposedName.size === 0 && candidates.length > 1) {
      // Nothing listed yet in this process: learn the owners once, then decide.
      await listResources(session, ctx);
      await listResourceTemplates(session, ctx);
      return ownerOfUri(uri, session, ctx);
    }
    throw new GatehouseError('UNKNOWN_RESOURCE', `Resource not found: no connected server offers "${uri}"`, {
      uri,
    });
  }

  async function readResource(uri: string, params: Params, session: Requester, ctx: Forwarding) {
    const owner = await ownerOfUri(uri, session, ctx);
    return owner.request({ method: 'resources/read', params }, AS_SENT.read, forwardFor(session, ctx));
  }

  /**
   * Subscriptions are shared: the downstream is subscribed while at least one session wants the URI,
   * so one session unsubscribing never silences another's updates.
   */
  async function subscribe(
    uri: string,
    session: Requester,
    ctx: Forwarding,
    on: boolean,
    others: () => Requester[],
    params: Params = { uri },
  ) {
    const elsewhere = others().some((s) => s !== session && s.subscriptions.has(uri));
    if (on) session.subscriptions.add(uri);
    else session.subscriptions.delete(uri);
    if (elsewhere) return {};
    const owner = await ownerOfUri(uri, session, ctx);
    try {
      return await owner.request(
        { method: on ? 'resources/subscribe' : 'resources/unsubscribe', params },
        AS_SENT.empty,
        forwardFor(session, ctx),
      );
    } catch (error) {
      if (on) session.subscriptions.delete(uri);
      throw error;
    }
  }

  /** A session ended: release the subscriptions nobody else holds. */
  async function release(session: Requester, others: () => Requester[]): Promise<void> {
    for (const uri of [...session.subscriptions]) {
      await subscribe(uri, session, {}, false, others).catch(() => undefined);
    }
  }

  async function listPrompts(session: Requester, ctx: Ctx): Promise<{ prompts: Prompt[] }> {
    const perServer = await fanOut(
      'prompts',
      (c) => listAll(c, 'prompts/list', 'prompts', AS_SENT.listPrompts, session, ctx) as Promise<Prompt[]>,
    );
    prompts = buildCatalog(
      perServer.map(({ server, items }) => ({ server: server.name, prefix: server.config.prefix, items })),
    );
    reportCollisions('prompt', prompts);
    return { prompts: [...prompts.byExposedName.values()].map((e) => ({ ...e.item, name: e.exposedName })) };
  }

  async function promptEntry(name: string, session: Requester, ctx: Ctx) {
    if (!prompts.byExposedName.has(name)) await listPrompts(session, ctx);
    const entry = prompts.byExposedName.get(name);
    const connection = entry && pool.get(entry.server);
    if (!entry || !connection) {
      throw new GatehouseError('UNKNOWN_PROMPT', `Prompt not found: no connected server exposes "${name}"`, {
        name,
      });
    }
    return { entry, connection };
  }

  async function getPrompt(name: string, params: Params, session: Requester, ctx: Forwarding) {
    const { entry, connection } = await promptEntry(name, session, ctx);
    return connection.request(
      { method: 'prompts/get', params: { ...params, name: entry.name } },
      AS_SENT.prompt,
      forwardFor(session, ctx),
    );
  }

  async function complete(
    ref: CompleteRequest['params']['ref'],
    params: Params,
    session: Requester,
    ctx: Forwarding,
  ) {
    const forward = forwardFor(session, ctx);
    if (ref.type === 'ref/prompt') {
      const { entry, connection } = await promptEntry(ref.name, session, ctx);
      const renamed = { ...(params.ref as Params), name: entry.name };
      return connection.request(
        { method: 'completion/complete', params: { ...params, ref: renamed } },
        AS_SENT.complete,
        forward,
      );
    }
    const owner = await ownerOfTemplate(ref.uri, session, ctx);
    return owner.request({ method: 'completion/complete', params }, AS_SENT.complete, forward);
  }

  async function ownerOfTemplate(
    uriTemplate: string,
    session: Requester,
    ctx: Ctx,
  ): Promise<DownstreamConnection> {
    const find = () => [...templates.byExposedName.values()].find((e) => e.item.uriTemplate === uriTemplate);
    let entry = find();
    if (!entry) {
      await listResourceTemplates(session, ctx);
      entry = find();
    }
    const owner = entry ? pool.get(entry.server) : undefined;
    if (owner) return owner;
    return ownerOfUri(uriTemplate, session, ctx);
  }

  /** The client's level goes to every server that logs; each session's own threshold filters relaying. */
  async function setLevel(level: LoggingLevel, params: Params, session: Requester): Promise<void> {
    session.logLevel = level;
    await Promise.allSettled(
      offering('logging').map((c) =>
        c.request({ method: 'logging/setLevel', params }, AS_SENT.empty, { sessionId: session.id }),
      ),
    );
  }

  return {
    listResources,
    listResourceTemplates,
    readResource,
    subscribe,
    release,
    listPrompts,
    getPrompt,
    complete,
    setLevel,
  };
}

export type Aggregate = ReturnType<typeof createAggregate>;
