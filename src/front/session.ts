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
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { builtinTools } from '../approvals/tools.js';
import type { DecisionPoint } from '../decision/types.js';
import type { DownstreamPool } from '../downstream/pool.js';
import type { Logger } from '../log.js';
import { callTool, type PipelineDeps } from '../pipeline/callTool.js';
import { CallToolRequestAsSentSchema, type Caller } from '../pipeline/toolCall.js';
import { VERSION } from '../version.js';
import type { Aggregate } from './aggregate.js';
import { guarded } from './errors.js';
import { createTaskBridge, TASK_CAPABILITIES, type TaskLimits } from './tasks.js';
import type { Relay } from './relay.js';
import type { Session, SessionRegistry } from './sessions.js';

export interface FrontDeps extends PipelineDeps {
  pool: DownstreamPool;
  aggregate: Aggregate;
  relay: Relay;
  sessions: SessionRegistry;
  decisionPoint: () => DecisionPoint;
  logger: Logger;
  taskLimits: TaskLimits;
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
  const caps = unionCapabilities(deps.pool);
  const tasks = createTaskBridge(deps.approvals, log, deps.taskLimits);
  const server = new Server(
    { name: 'gatehouse', version: VERSION },
    {
      capabilities: { ...caps, tasks: TASK_CAPABILITIES },
      instructions: combinedInstructions(deps.pool),
      taskStore: tasks.store,
    },
  );
  const session: Session = { id, server, caller: { ...caller }, subscriptions: new Set(), tasks };
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
  const others = () => deps.sessions.all();
  const handle = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => guarded(log, fn);

  server.setRequestHandler(
    ListToolsRequestSchema,
    handle(async () => ({ tools: visibleTools(deps) })),
  );
  server.setRequestHandler(
    CallToolRequestAsSentSchema,
    handle(async (request, extra) =>
      callTool(deps, session, request.params, {
        signal: extra.signal,
        requestId: extra.requestId,
        progressToken: request.params._meta?.progressToken,
        sendNotification: extra.sendNotification,
        ...(request.params.task && extra.taskStore
          ? { task: { bridge: tasks, store: extra.taskStore, ttl: request.params.task.ttl } }
          : {}),
      }),
    ),
  );

  if (caps.resources) {
    server.setRequestHandler(
      ListResourcesRequestSchema,
      handle(async (_r, extra) => aggregate.listResources(session, extra)),
    );
    server.setRequestHandler(
      ListResourceTemplatesRequestSchema,
      handle(async (_r, extra) => aggregate.listResourceTemplates(session, extra)),
    );
    server.setRequestHandler(
      ReadResourceRequestSchema,
      handle(async (r, extra) => aggregate.readResource(r.params.uri, session, extra)),
    );
    if (caps.resources.subscribe) {
      server.setRequestHandler(
        SubscribeRequestSchema,
        handle(async (r, extra) => aggregate.subscribe(r.params.uri, session, extra, true, others)),
      );
      server.setRequestHandler(
        UnsubscribeRequestSchema,
        handle(async (r, extra) => aggregate.subscribe(r.params.uri, session, extra, false, others)),
      );
    }
  }
  if (caps.prompts) {
    server.setRequestHandler(
      ListPromptsRequestSchema,
      handle(async (_r, extra) => aggregate.listPrompts(session, extra)),
    );
    server.setRequestHandler(
      GetPromptRequestSchema,
      handle(async (r, extra) => aggregate.getPrompt(r.params, session, extra)),
    );
  }
  if (caps.completions) {
    server.setRequestHandler(
      CompleteRequestSchema,
      handle(async (r, extra) => aggregate.complete(r.params, session, extra)),
    );
  }
  if (caps.logging) {
    server.setRequestHandler(
      SetLevelRequestSchema,
      handle(async (r) => {
        await aggregate.setLevel(r.params.level, session);
        return {};
      }),
    );
  }
  server.setNotificationHandler(RootsListChangedNotificationSchema, async () => deps.relay.onRootsChanged());
  return session;
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
      // Clients with task support can follow a held call as a task instead of polling.
      tool.execution = { ...tool.execution, taskSupport: tool.execution?.taskSupport ?? 'optional' };
    }
    tools.push(tool);
  }
  return tools;
}

/** What the client is told Gatehouse can do: the union of what the ready downstream servers offer. */
export function unionCapabilities(pool: DownstreamPool): ServerCapabilities {
  const ready = pool.ready().map((c) => c.capabilities);
  const caps: ServerCapabilities = { tools: { listChanged: true } };
  if (ready.some((c) => c.resources)) {
    caps.resources = {
      listChanged: true,
      ...(ready.some((c) => c.resources?.subscribe) ? { subscribe: true } : {}),
    };
  }
  if (ready.some((c) => c.prompts)) caps.prompts = { listChanged: true };
  if (ready.some((c) => c.completions)) caps.completions = {};
  if (ready.some((c) => c.logging)) caps.logging = {};
  return caps;
}

function combinedInstructions(pool: DownstreamPool): string | undefined {
  const parts = pool
    .ready()
    .filter((c) => c.instructions)
    .map(
      (c) => `Server "${c.name}" (tools prefixed "${c.config.prefix ?? `${c.name}__`}"):\n${c.instructions}`,
    );
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}
