import type { ServerCapabilities, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { toolDefinitionDigest } from '../approvals/digest.js';
import { BUILTIN_TOOL_NAMES } from '../approvals/tools.js';
import {
  buildCatalog,
  collisionReporter,
  describeCollision,
  type Catalog,
  type CatalogEntry,
  type CatalogSource,
} from './catalog.js';
import {
  DownstreamConnection,
  type ConnectionHooks,
  type ConnectionOptions,
  type ConnectionStatus,
} from './connection.js';
import { GatehouseError } from '../errors.js';

export interface PoolHooks extends Omit<ConnectionHooks, 'onStateChange' | 'onToolsChanged'> {
  /** The merged tool catalog changed (a server connected, restarted, died or re-listed its tools). */
  onToolsChanged(): void;
  /** A server came back after a restart: its prompts and resources may have changed too. */
  onServerReconnected(connection: DownstreamConnection): void;
  /** Any change of a server's state (connected, failed, restarting, stopped): for the record. */
  onServerState?(connection: DownstreamConnection): void;
  /**
   * A tool of a ready server now has another definition digest than it had when last listed (absent:
   * new, or gone from a list the server still serves).
   */
  onToolDefinitionChanged?(server: string, tool: string, before?: string, after?: string): void;
}

/** What a server on its first attempt is taken to declare: it may list tools, prompts and resources. */
const STILL_CONNECTING: ServerCapabilities = { tools: {}, prompts: {}, resources: {} };

/** Every configured downstream server, and the merged, namespaced tool catalog over the ready ones. */
export class DownstreamPool {
  readonly connections: ReadonlyMap<string, DownstreamConnection>;
  tools: Catalog<Tool> = { byExposedName: new Map(), collisions: [] };
  /**
   * Each exposed tool as its server last listed it, kept while that server is down: a call to it then
   * learns which server is down and why, instead of "not found".
   */
  private readonly lastListed = new Map<string, CatalogEntry<Tool>>();
  private readonly log: Logger;
  private started = false;
  private readonly reportCollisions: ReturnType<typeof collisionReporter>;
  /** How a process started for one call connects: relayed like the others, out of the catalog. */
  private readonly perCallOptions: ConnectionOptions;

  constructor(config: Config, logger: Logger, hooks: PoolHooks) {
    this.log = logger.child({ module: 'downstream' });
    this.reportCollisions = collisionReporter(this.log);
    // A server seen ready before that is ready again has restarted: its prompts and resources may differ.
    const everReady = new Set<string>();
    // Definition digests per server as last listed: what tool.definition_changed compares with.
    const digests = new Map<string, Map<string, string>>();
    const compareDefinitions = (connection: DownstreamConnection) => {
      if (connection.state !== 'ready' || !hooks.onToolDefinitionChanged) return;
      const now = new Map(connection.tools.map((t) => [t.name, toolDefinitionDigest(t)]));
      const before = digests.get(connection.name);
      digests.set(connection.name, now);
      if (!before) return;
      for (const [tool, digest] of now) {
        if (before.get(tool) !== digest)
          hooks.onToolDefinitionChanged(connection.name, tool, before.get(tool), digest);
      }
      for (const [tool, digest] of before) {
        if (!now.has(tool)) hooks.onToolDefinitionChanged(connection.name, tool, digest, undefined);
      }
    };
    const connectionHooks: ConnectionHooks = {
      onServerRequest: hooks.onServerRequest,
      onNotification: hooks.onNotification,
      onStateChange: (connection) => {
        hooks.onServerState?.(connection);
        compareDefinitions(connection);
        this.rebuildTools();
        if (this.started) {
          hooks.onToolsChanged();
          if (connection.state === 'ready' && everReady.has(connection.name))
            hooks.onServerReconnected(connection);
        }
        if (connection.state === 'ready') everReady.add(connection.name);
      },
      // Only the tools changed: prompts, resources and subscriptions stand as they were.
      onToolsChanged: (connection) => {
        compareDefinitions(connection);
        this.rebuildTools();
        if (this.started) hooks.onToolsChanged();
      },
    };
    this.perCallOptions = {
      connectMs: config.timeouts.connectMs,
      callMs: config.timeouts.callMs,
      restart: config.restart,
      logger: logger.child({ perCall: true }),
      hooks: {
        onServerRequest: hooks.onServerRequest,
        onNotification: hooks.onNotification,
        onStateChange: () => undefined,
        onToolsChanged: () => undefined,
      },
      oneShot: true,
    };
    const connections = new Map<string, DownstreamConnection>();
    for (const [name, server] of Object.entries(config.servers)) {
      connections.set(
        name,
        new DownstreamConnection(name, server, {
          connectMs: config.timeouts.connectMs,
          callMs: config.timeouts.callMs,
          restart: config.restart,
          logger,
          hooks: connectionHooks,
        }),
      );
    }
    this.connections = connections;
  }

  /** Start every server in parallel; resolves once each has had its first attempt. */
  async start(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.start()));
    this.started = true;
    this.rebuildTools();
  }

  /**
   * A fresh process of stdio server `name` for one call, with `env` (that call's credentials) on top
   * of its own environment: never restarted and never in the catalog. The caller stops it after the
   * call; the long-lived process never sees `env`.
   */
  async startForCall(name: string, env: Record<string, string>): Promise<DownstreamConnection> {
    const config = this.connections.get(name)?.config;
    if (!config) throw new GatehouseError('DOWNSTREAM_UNAVAILABLE', `no server "${name}" is configured`);
    const connection = new DownstreamConnection(name, config, { ...this.perCallOptions, env });
    await connection.start();
    if (connection.state !== 'ready') {
      await connection.stop();
      throw new GatehouseError(
        'DOWNSTREAM_UNAVAILABLE',
        `server "${name}" did not start for this call (${connection.lastError ?? connection.state}); the call was not executed`,
        { server: name },
      );
    }
    return connection;
  }

  get(name: string): DownstreamConnection | undefined {
    return this.connections.get(name);
  }

  /** A tool that is not exposed now because its server is down, as that server last listed it. */
  listedBeforeOutage(exposedName: string): CatalogEntry<Tool> | undefined {
    const entry = this.lastListed.get(exposedName);
    return entry && this.connections.get(entry.server)?.state !== 'ready' ? entry : undefined;
  }

  /**
   * What the servers declare, in configuration order, for the capabilities clients are told: a ready
   * server's own declaration, and for one still on its first attempt the lists it may come to serve
   * (prompts, resources), so that a client answered before it is up (a stdio `server/discover` probe)
   * still asks for them, and hears when they change.
   */
  declaredCapabilities(): ServerCapabilities[] {
    return [...this.connections.values()].flatMap((c) =>
      c.state === 'ready' ? [c.capabilities] : c.state === 'starting' ? [STILL_CONNECTING] : [],
    );
  }

  ready(): DownstreamConnection[] {
    return [...this.connections.values()].filter((c) => c.state === 'ready');
  }

  status(): ConnectionStatus[] {
    return [...this.connections.values()].map((c) => c.status());
  }

  collisionMessages(): string[] {
    return this.tools.collisions.map((c) => describeCollision('tool', c));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.stop()));
  }

  private rebuildTools(): void {
    const sources: CatalogSource<Tool>[] = this.ready().map((c) => ({
      server: c.name,
      prefix: c.config.prefix,
      items: c.tools,
    }));
    this.tools = buildCatalog(sources, BUILTIN_TOOL_NAMES);
    this.reportCollisions('tool', this.tools);
    // A ready server's list replaces what it listed before; a down server's stays.
    const ready = new Set(sources.map((s) => s.server));
    for (const [name, entry] of this.lastListed) if (ready.has(entry.server)) this.lastListed.delete(name);
    for (const entry of this.tools.byExposedName.values()) this.lastListed.set(entry.exposedName, entry);
  }
}
