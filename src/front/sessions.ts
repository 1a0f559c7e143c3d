import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import type { Caller } from '../pipeline/toolCall.js';
import type { TaskBridge } from './tasks.js';

/** One client connected to Gatehouse: stdio has exactly one, HTTP one per MCP session. */
export interface Session {
  id: string;
  server: Server;
  caller: Caller;
  /** Set by logging/setLevel; log notifications below it are not sent to this session. */
  logLevel?: LoggingLevel;
  /** Resource URIs this session subscribed to. */
  subscriptions: Set<string>;
  /** The MCP tasks of this session; they end with it. */
  tasks: TaskBridge;
  /**
   * The open approval requests this session's calls made or joined: it is told their outcome
   * (front/outcomeNotices.ts). In memory only; after a restart any open session of the caller is told.
   */
  askedFor: Set<string>;
}

/**
 * What handling one request needs of the client behind it. A legacy session is one; a 2026-07-28
 * request, which has no session, brings one of its own (front/era2026/).
 */
export type Requester = Pick<Session, 'id' | 'caller' | 'askedFor' | 'subscriptions' | 'logLevel'>;

/** How the id of a 2026-07-28 request's Requester begins: no session of the registry has it. */
export const MODERN_REQUESTER = 'modern:';

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  add(session: Session): void {
    this.sessions.set(session.id, session);
  }

  remove(id: string): Session | undefined {
    const session = this.sessions.get(id);
    this.sessions.delete(id);
    return session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /** MCP tasks held over all sessions. */
  tasks(): number {
    let count = 0;
    for (const session of this.sessions.values()) count += session.tasks.size;
    return count;
  }
}
