import { randomUUID } from 'node:crypto';
import {
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type CallToolRequest,
  type JSONRPCMessage,
  type RequestId,
  type Result,
  type ServerCapabilities,
  type ServerNotification,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { resultForRequest } from '../../approvals/results.js';
import { isOpen } from '../../approvals/states.js';
import { progressTo } from '../../downstream/connection.js';
import { callTool } from '../../pipeline/callTool.js';
import { CallToolRequestAsSentSchema, type Caller } from '../../pipeline/toolCall.js';
import { describeIssues, type RequestSchema } from '../../shared/passThrough.js';
import type { Forwarding } from '../aggregate.js';
import { unionCapabilities } from '../capabilities.js';
import { toWireError } from '../errors.js';
import { combinedInstructions, subscribers, visibleTools, type FrontDeps } from '../session.js';
import { MODERN_REQUESTER, type Requester } from '../sessions.js';
import { listen, type ListenHub } from './listen.js';
import { requestDigest, type InputBridge } from './inputs.js';
import { createApprovalTasks } from './tasks.js';
import {
  SUPPORTED_VERSIONS,
  TASKS_EXTENSION,
  cacheable,
  complete,
  declaresTasks,
  requireTasks,
  readEnvelope,
  withoutEnvelope,
  type Envelope,
} from './wire.js';

/** One modern request as a transport hands it over. */
export interface ModernRequest {
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

/** What the transport the request came on provides while it is handled. */
export interface Exchange {
  /** The caller as the transport knows it: the stdio identity, or the HTTP request's principal. */
  caller: Omit<Caller, 'client'>;
  /** Aborted when the client cancels: notifications/cancelled on stdio, a closed stream on HTTP. */
  signal: AbortSignal;
  /** A notification about this request (progress, or a subscription's changes), on its stream. */
  notify(notification: { method: string; params?: Record<string, unknown> }): void;
}

export interface ModernFrontOptions {
  /** Open listen streams one caller may hold (sessions.maxListensPerCaller). */
  maxListensPerCaller: number;
  /** Where servers' requests during modern calls are held (shared with the relay). */
  inputs: InputBridge;
}

/**
 * Gatehouse's front for MCP 2026-07-28 clients, beside the SDK v1 Server that serves legacy sessions:
 * each request is answered on its own, from its `_meta` envelope, by the same pipeline (callTool), the
 * same aggregate and the same wire-error mapping as a legacy session's. Transports (era2026/stdio.ts,
 * era2026/http.ts) hand requests here and write what comes back.
 */
export function createModernFront(deps: FrontDeps, hub: ListenHub, options: ModernFrontOptions) {
  const log = deps.logger.child({ module: 'era2026' });
  const tasks = createApprovalTasks(deps.approvals, log);
  const { inputs } = options;

  function capabilities(): ServerCapabilities {
    const caps = unionCapabilities(deps.pool.declaredCapabilities());
    // Logs are not announced: a modern request asks for them with its own logLevel. `subscribe`
    // now means resourceSubscriptions on subscriptions/listen.
    const { logging: _logging, ...rest } = caps;
    return { ...rest, extensions: { ...rest.extensions, [TASKS_EXTENSION]: {} } };
  }

  function discover(): Result {
    const instructions = combinedInstructions(deps.pool);
    return cacheable({
      supportedVersions: [...SUPPORTED_VERSIONS],
      capabilities: capabilities(),
      ...(instructions ? { instructions } : {}),
    });
  }

  /** tools/list without the 2025-11-25 task fields: held calls become tasks of the extension instead. */
  function tools(): Tool[] {
    return visibleTools(deps).map((tool) => {
      if (!tool.execution) return tool;
      const { taskSupport: _legacy, ...execution } = tool.execution;
      const { execution: _e, ...rest } = tool;
      return Object.keys(execution).length > 0 ? { ...rest, execution } : rest;
    });
  }

  async function route(request: ModernRequest, envelope: Envelope, exchange: Exchange): Promise<Result> {
    const requester: Requester = {
      id: `${MODERN_REQUESTER}${randomUUID()}`,
      caller: { ...exchange.caller, ...(envelope.client ? { client: envelope.client } : {}) },
      askedFor: new Set(),
      subscriptions: new Set(),
      // A modern server behind Gatehouse logs during this request at the level the client asked for.
      ...(envelope.logLevel ? { logLevel: envelope.logLevel } : {}),
    };
    // The MRTR fields are the client's hop to Gatehouse too: servers get the call without them.
    const { requestState, inputResponses, ...params }: Record<string, unknown> = withoutEnvelope(
      request.params ?? {},
    );
    /**
     * A request during which a server may ask the client something: held open across the client's
     * retries (era2026/inputs.ts). A retry carries the requestState Gatehouse sealed.
     */
    const withInputs = (
      run: (signal: AbortSignal, notify: Exchange['notify']) => Promise<Result>,
    ): Promise<Result> => {
      const told = {
        callerId: exchange.caller.id,
        notify: exchange.notify,
        ...(envelope.logLevel ? { logLevel: envelope.logLevel } : {}),
      };
      // Nothing along the pipeline changes `params`, so the digest may wait until a requestState is
      // sealed: most calls never have one, and it cost a canonical JSON and a SHA-256 each.
      const digest = () => requestDigest(request.method, params);
      if (requestState !== undefined) {
        return inputs.resume(requestState, { ...told, digest: digest() }, inputResponses, exchange.signal);
      }
      return inputs.start(
        requester.id,
        { ...told, digest, capabilities: envelope.capabilities },
        exchange.signal,
        run,
      );
    };
    const forwarding: Forwarding = {
      signal: exchange.signal,
      relatedRequestId: request.id,
      ...progressOf(params, exchange.notify),
    };
    const { aggregate } = deps;
    switch (request.method) {
      case 'server/discover':
        return discover();
      case 'tools/list':
        return cacheable({ tools: tools() });
      case 'tools/call': {
        valid(CallToolRequestAsSentSchema, request);
        const progressToken = (params._meta as { progressToken?: string | number } | undefined)
          ?.progressToken;
        return withInputs((signal, notify) =>
          callTool(deps, requester, params as CallToolRequest['params'], {
            signal,
            requestId: request.id,
            ...(progressToken !== undefined ? { progressToken } : {}),
            sendNotification: async (notification: ServerNotification) => notify(notification),
            // A client that declared the Tasks extension follows a held call as a task; one that did
            // not gets the request's state, and the status and wait tools, as legacy clients do.
            ...(declaresTasks(envelope)
              ? {
                  held: (approval, hasOutputSchema) =>
                    isOpen(approval.state)
                      ? tasks.created(approval)
                      : resultForRequest(approval, hasOutputSchema, deps.approvals),
                }
              : {}),
          }),
        );
      }
      case 'tasks/get':
        requireTasks(envelope, request.method);
        return { ...(await tasks.get(params.taskId, exchange.caller)) };
      case 'tasks/cancel':
        requireTasks(envelope, request.method);
        return tasks.cancel(params.taskId, exchange.caller);
      case 'tasks/update':
        requireTasks(envelope, request.method);
        return tasks.update(params.taskId, exchange.caller);
      case 'resources/list':
        requireCapability('resources', request.method);
        return cacheable(await aggregate.listResources(requester, forwarding));
      case 'resources/templates/list':
        requireCapability('resources', request.method);
        return cacheable(await aggregate.listResourceTemplates(requester, forwarding));
      case 'resources/read': {
        requireCapability('resources', request.method);
        const { params: p } = valid(ReadResourceRequestSchema, request);
        const read = await withInputs((signal, notify) =>
          aggregate.readResource(p.uri, params, requester, {
            ...forwarding,
            ...progressOf(params, notify),
            signal,
          }),
        );
        return read.resultType === 'input_required' ? read : cacheable(read);
      }
      case 'prompts/list':
        requireCapability('prompts', request.method);
        return cacheable(await aggregate.listPrompts(requester, forwarding));
      case 'prompts/get': {
        requireCapability('prompts', request.method);
        const { params: p } = valid(GetPromptRequestSchema, request);
        return withInputs((signal, notify) =>
          aggregate.getPrompt(p.name, params, requester, {
            ...forwarding,
            ...progressOf(params, notify),
            signal,
          }),
        );
      }
      case 'completion/complete': {
        requireCapability('completions', request.method);
        const { params: p } = valid(CompleteRequestSchema, request);
        return aggregate.complete(p.ref, params, requester, forwarding);
      }
      case 'subscriptions/listen':
        return listen(request, envelope, exchange, {
          hub,
          maxPerCaller: options.maxListensPerCaller,
          capabilities: capabilities(),
          tasks,
          aggregate,
          others: () => subscribers(deps),
          log,
        });
      default:
        throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
    }
  }

  function requireCapability(capability: keyof ServerCapabilities, method: string): void {
    if (!capabilities()[capability]) {
      throw new McpError(
        ErrorCode.MethodNotFound,
        `Method not found: ${method} (no connected server offers ${capability})`,
      );
    }
  }

  /**
   * The message that answers `request`: its result, or its error through the one wire-error mapping;
   * undefined when the client cancelled it (nothing more may be sent for it).
   */
  async function answer(request: ModernRequest, exchange: Exchange): Promise<JSONRPCMessage | undefined> {
    try {
      const envelope = readEnvelope(request.method, request.params);
      const result = await route(request, envelope, exchange);
      if (exchange.signal.aborted) return undefined;
      return { jsonrpc: '2.0', id: request.id, result: complete(result) } as JSONRPCMessage;
    } catch (error) {
      if (exchange.signal.aborted) return undefined;
      const wire = toWireError(error, log, 'modern');
      return {
        jsonrpc: '2.0',
        id: request.id,
        error: {
          code: wire.code,
          message: wire.message,
          ...(wire.data !== undefined ? { data: wire.data } : {}),
        },
      } as JSONRPCMessage;
    }
  }

  return { answer, discover, close: () => hub.endAll() };
}

export type ModernFront = ReturnType<typeof createModernFront>;

/** The request as `schema` reads it, or Invalid params naming what is wrong and where. */
function valid<S extends RequestSchema>(schema: S, request: ModernRequest) {
  const parsed = schema.safeParse({ method: request.method, params: request.params ?? {} });
  if (!parsed.success) {
    throw new McpError(
      ErrorCode.InvalidParams,
      `Invalid ${request.method} request: ${describeIssues(parsed.error)}`,
    );
  }
  return parsed.data as { params: Record<string, never> } & ReturnType<S['parse']>;
}

function progressOf(
  params: Record<string, unknown>,
  notify: Exchange['notify'],
): Pick<Forwarding, 'progress'> {
  const token = (params._meta as { progressToken?: string | number } | undefined)?.progressToken;
  if (token === undefined) return {};
  return { progress: progressTo(token, async (n) => notify(n as never)) };
}
