import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolRequest,
  type Notification,
  type Request,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { builtinTools } from '../approvals/tools.js';
import type { DecisionPoint } from '../decision/types.js';
import { progressTo } from '../downstream/connection.js';
import type { DownstreamPool } from '../downstream/pool.js';
import type { Logger } from '../log.js';
import { callTool, type PipelineDeps } from '../pipeline/callTool.js';
import { CallToolRequestAsSentSchema, type Caller } from '../pipeline/toolCall.js';
import { dispatchByShape } from '../shared/dispatch.js';
import { setRawRequestHandler, type RawHandler, type RequestSchema } from '../shared/passThrough.js';
import { VERSION } from '../version.js';
import type { Aggregate, Forwarding } from './aggregate.js';
import { unionCapabilities } from './capabilities.js';
import { guarded } from './errors.js';
import { createTaskBridge, TASK_CAPABILITIES, type TaskLimits } from './tasks.js';
import type { Relay } from './relay.js';
import type { Requester, Session, SessionRegistry } from './sessions.js';

export interface FrontDeps extends PipelineDeps {
  pool: DownstreamPool;
  aggregate: Aggregate;
  relay: Relay;
  sessions: SessionRegistry;
  decisionPoint: () => DecisionPoint;
  logger: Logger;
  taskLimits: TaskLimits;
  /** Who else holds resource subscriptions: 2026-07-28 listen requests (front/era2026/listen.ts). */
  otherSubscribers?: () => Requester[];
}

export const APPROVAL_NOTE = 'Calls may require human approval.';

/**
 * One client session: a low-level SDK Server (a proxy republishes arbitrary JSON-Schema tools, which
 * the high-level McpServer is not made for) whose handlers route to the pipeline and the aggregate.
 */
export function createSession(
  deps: FrontDeps,
  caller: Omit<Caller, 'client'>,
  id: string = randomUUID(),
): Session {
  const log = deps.logger.child({ session: id });
  const caps = unionCapabilities(deps.pool.ready().map((c) => c.capabilities));
  const tasks = createTaskBridge(deps.approvals, log, deps.taskLimits);
  const server = new Server(
    { name: 'gatehouse', version: VERSION },
    {
      // Logging always: Gatehouse itself tells the requester how an approval request ended.
      capabilities: { ...caps, logging: caps.logging ?? {}, tasks: TASK_CAPABILITIES },
      instructions: combinedInstructions(deps.pool),
      taskStore: tasks.store,
    },
  );
  dispatchByShape(server);
  const session: Session = {
    id,
    server,
    caller: { ...caller },
    subscriptions: new Set(),
    tasks,
    askedFor: new Set(),
  };
  // However the session ends (DELETE, idle expiry, shutdown), its tasks end with it.
  server.onclose = () => tasks.close();
  server.oninitialized = () => {
    const client = server.getClientVersion();
    if (client)
      session.caller = { ...session.caller, client: { name: client.name, version: client.version } };
    // On HTTP the client can take server requests only once its GET stream is open (front/http.ts).
    if (caller.transport === 'stdio') announceRoots(deps, session);
  };
  server.onerror = (error) => log.debug({ reason: String(error) }, 'session protocol error');

  const { aggregate } = deps;
  const others = () => subscribers(deps);
  /**
   * Every handler reads the request as the SDK's schema parses it and forwards the request as the
   * client sent it (Gatehouse changes only what it must: names, progress tokens); its result goes out
   * as it is, without the SDK's re-parse that drops fields it does not know. Errors leave through
   * toWireError.
   */
  const on = <S extends RequestSchema>(schema: S, handler: RawHandler<S>) =>
    setRawRequestHandler(server, schema, guarded(log, handler));

  on(ListToolsRequestSchema, async () => ({ tools: visibleTools(deps) }));
  on(CallToolRequestAsSentSchema, async (request, raw, extra) =>
    callTool(deps, session, raw.params as CallToolRequest['params'], {
      signal: extra.signal,
      requestId: extra.requestId,
      progressToken: request.params._meta?.progressToken,
      sendNotification: extra.sendNotification,
      ...(request.params.task && extra.taskStore
        ? { task: { bridge: tasks, store: extra.taskStore, ttl: request.params.task.ttl } }
        : {}),
    }),
  );

  if (caps.resources) {
    on(ListResourcesRequestSchema, async (_r, _raw, extra) => aggregate.listResources(session, extra));
    on(ListResourceTemplatesRequestSchema, async (_r, _raw, extra) =>
      aggregate.listResourceTemplates(session, extra),
    );
    on(ReadResourceRequestSchema, async (r, raw, extra) =>
      aggregate.readResource(r.params.uri, raw.params!, session, forwarding(r, extra)),
    );
    if (caps.resources.subscribe) {
      on(SubscribeRequestSchema, async (r, raw, extra) =>
        aggregate.subscribe(r.params.uri, session, forwarding(r, extra), true, others, raw.params),
      );
      on(UnsubscribeRequestSchema, async (r, raw, extra) =>
        aggregate.subscribe(r.params.uri, session, forwarding(r, extra), false, others, raw.params),
      );
    }
  }
  if (caps.prompts) {
    on(ListPromptsRequestSchema, async (_r, _raw, extra) => aggregate.listPrompts(session, extra));
    on(GetPromptRequestSchema, async (r, raw, extra) =>
      aggregate.getPrompt(r.params.name, raw.params!, session, forwarding(r, extra)),
    );
  }
  if (caps.completions) {
    on(CompleteRequestSchema, async (r, raw, extra) =>
      aggregate.complete(r.params.ref, raw.params!, session, forwarding(r, extra)),
    );
  }
  on(SetLevelRequestSchema, async (r, raw) => {
    await aggregate.setLevel(r.params.level, raw.params!, session);
    return {};
  });
  server.setNotificationHandler(RootsListChangedNotificationSchema, async () => deps.relay.onRootsChanged());
  return session;
}

/** Everyone whose resource subscriptions keep a server subscribed: sessions and modern listeners. */
export function subscribers(deps: Pick<FrontDeps, 'sessions' | 'otherSubscribers'>): Requester[] {
  const sessions: Requester[] = deps.sessions.all();
  return deps.otherSubscribers ? [...sessions, ...deps.otherSubscribers()] : sessions;
}

/** How a request that goes to one server travels: cancellable, on its client request's stream, with progress. */
function forwarding(
  request: { params?: { _meta?: { progressToken?: string | number } } },
  extra: RequestHandlerExtra<Request, Notification>,
): Forwarding {
  const token = request.params?._meta?.progressToken;
  return {
    signal: extra.signal,
    relatedRequestId: extra.requestId,
    ...(token !== undefined ? { progress: progressTo(token, extra.sendNotification) } : {}),
  };
}

/**
 * Downstreams ask for roots when they start, before any client can answer. Once a client that has
 * roots can take server requests, tell them to ask again.
 */
export function announceRoots(deps: Pick<FrontDeps, 'relay'>, session: Session): void {
  if (session.server.getClientCapabilities()?.roots) deps.relay.onRootsChanged();
}

/** tools/list as the client sees it: exposed names, denied tools hidden, gated tools annotated. */
export function visibleTools(deps: Pick<FrontDeps, 'pool' | 'decisionPoint' | 'maxWaitSeconds'>): Tool[] {
  const decisionPoint = deps.decisionPoint();
  const tools: Tool[] = builtinTools(deps.maxWaitSeconds);
  for (const entry of deps.pool.tools.byExposedName.values()) {
    const visibility = decisionPoint.visibility({
      server: entry.server,
      tool: entry.name,
      exposedName: entry.exposedName,
      definition: entry.item,
    });
    if (visibility === 'hidden') continue;
    const tool: Tool = { ...entry.item, name: entry.exposedName };
    if (visibility === 'may-need-approval') {
      tool.description = tool.description ? `${tool.description}\n\n${APPROVAL_NOTE}` : APPROVAL_NOTE;
      // Clients with task support can follow a held call as a task instead of polling. Gatehouse runs
      // the task and the server gets a plain call, so what the server says of tasks (absent, or
      // `forbidden`) does not limit what Gatehouse offers; a server's `required` stands.
      const required = tool.execution?.taskSupport === 'required';
      tool.execution = { ...tool.execution, taskSupport: required ? 'required' : 'optional' };
    }
    tools.push(tool);
  }
  return tools;
}

export function combinedInstructions(pool: DownstreamPool): string | undefined {
  const parts = pool
    .ready()
    .filter((c) => c.instructions)
    .map(
      (c) => `Server "${c.name}" (tools prefixed "${c.config.prefix ?? `${c.name}__`}"):\n${c.instructions}`,
    );
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}
