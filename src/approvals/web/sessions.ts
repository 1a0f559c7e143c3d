import { createHash } from 'node:crypto';
import type { Identity } from '../request.js';
import { newToken } from './csrf.js';

/**
 * Signed-in approvers: in memory here (a restart of Gatehouse signs everyone out), in PostgreSQL for
 * replicas, which then all know every session (store/postgres/approverState.ts). The cookie carries a random 256-bit id; the map is keyed by
 * its SHA-256, so what is held here cannot be replayed as a cookie. A session lasts
 * `approvers.sessionTtlMs` from sign-in, however active it is. Bounded twice: an approver's oldest
 * session is signed out beyond `maxPerApprover` (so one approver signing in over and over never signs
 * anyone else out), and the oldest of all beyond `maxSessions`.
 */
export type SignInMethod = 'local' | 'oidc';

export interface Session {
  principal: Identity;
  via: SignInMethod;
  /** The synchronizer token every form of this session carries. */
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionStore {
  /** A new session; the returned id goes into the cookie and nowhere else. */
  create(principal: Identity, via: SignInMethod): Promise<{ id: string; session: Session }>;
  /** The live session for a cookie value; an expired one is dropped and not returned. */
  get(id: string | undefined): Promise<Session | undefined>;
  destroy(id: string | undefined): Promise<void>;
  /** Drops expired sessions; returns how many remain. */
  sweep(): Promise<number>;
  /** Sessions held now (expired ones until the next sweep). */
  readonly size: number;
}

export interface SessionStoreOptions {
  ttlMs: number;
  now?: () => number;
  /** Most sessions at once; the oldest goes first beyond it. */
  maxSessions?: number;
  /** Most sessions of one approver at once; their oldest goes first beyond it. */
  maxPerApprover?: number;
}

export function createSessionStore(options: SessionStoreOptions): SessionStore {
  const { ttlMs, now = Date.now, maxSessions = 10_000, maxPerApprover = 20 } = options;
  const sessions = new Map<string, Session>();

  /** Map order is sign-in order: the first sessions of an approver found are their oldest. */
  function dropOldestOf(approverId: string): void {
    let count = 0;
    for (const session of sessions.values()) if (session.principal.id === approverId) count += 1;
    for (const [k, session] of sessions) {
      if (count <= maxPerApprover) return;
      if (session.principal.id !== approverId) continue;
      sessions.delete(k);
      count -= 1;
    }
  }

  return {
    async create(principal, via) {
      const { id, session } = newSession(principal, via, now(), ttlMs);
      sessions.set(key(id), session);
      dropOldestOf(principal.id);
      while (sessions.size > maxSessions) sessions.delete(sessions.keys().next().value!);
      return { id, session };
    },
    async get(id) {
      if (!id) return undefined;
      const session = sessions.get(key(id));
      if (session && session.expiresAt <= now()) {
        sessions.delete(key(id));
        return undefined;
      }
      return session;
    },
    async destroy(id) {
      if (id) sessions.delete(key(id));
    },
    async sweep() {
      const at = now();
      for (const [k, session] of sessions) if (session.expiresAt <= at) sessions.delete(k);
      return sessions.size;
    },
    get size() {
      return sessions.size;
    },
  };
}

/** A new session and the secret id its cookie carries. */
export function newSession(
  principal: Identity,
  via: SignInMethod,
  at: number,
  ttlMs: number,
): { id: string; session: Session } {
  const session: Session = {
    principal: { id: principal.id, groups: [...principal.groups] },
    via,
    csrfToken: newToken(),
    createdAt: at,
    expiresAt: at + ttlMs,
  };
  return { id: newToken(), session };
}

export function key(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
