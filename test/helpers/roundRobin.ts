import { createServer, request, type IncomingMessage, type Server } from 'node:http';

/**
 * A load balancer in front of several Gatehouse replicas, as the README asks of one: requests go
 * round-robin, except that an MCP request carrying an `Mcp-Session-Id` goes to the replica that
 * issued that session (the only affinity Gatehouse needs), unless `affinity` is false: then every
 * request goes to the next replica, whatever it carries. Responses, SSE streams included, are piped
 * through as they come; the Host header becomes the replica's, as a reverse proxy sets it.
 */
export interface RoundRobinFront {
  url: string;
  /** Requests each backend received. */
  counts(): number[];
  /** Each request so far, in arrival order: the backend it went to, and whether it issued a session. */
  routed(): readonly Routed[];
  close(): Promise<void>;
}

export interface Routed {
  backend: number;
  /** The request's Mcp-Method header (2026-07-28 requests name their method in it). */
  method?: string;
  issuedSession: boolean;
}

export async function startRoundRobinFront(
  backends: () => readonly string[],
  { affinity = true }: { affinity?: boolean } = {},
): Promise<RoundRobinFront> {
  let next = 0;
  const sessions = new Map<string, string>();
  const counts: number[] = [];
  const routed: Routed[] = [];
  const server: Server = createServer((req, res) => {
    const session = req.headers['mcp-session-id'];
    const all = backends();
    const pinned = affinity && typeof session === 'string' ? sessions.get(session) : undefined;
    const index = pinned !== undefined ? all.indexOf(pinned) : next++ % all.length;
    const backend = new URL(all[index]!);
    counts[index] = (counts[index] ?? 0) + 1;
    const method = req.headers['mcp-method'];
    const entry: Routed = {
      backend: index,
      issuedSession: false,
      ...(typeof method === 'string' ? { method } : {}),
    };
    routed.push(entry);
    const forwarded = request(
      {
        host: backend.hostname,
        port: backend.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: backend.host },
        // A connection per request: a pooled one the replica closes as idle just as it is reused
        // would fail a request that never reached it.
        agent: false,
      },
      (answer: IncomingMessage) => {
        const issued = answer.headers['mcp-session-id'];
        if (typeof issued === 'string') {
          entry.issuedSession = true;
          sessions.set(issued, all[index]!);
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forwarded);
  });
  // Idle client connections stay open longer than clients keep them (as load balancers do, 60 s
  // and more): a client never reuses one the front is closing at that moment.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => [...counts],
    routed: () => [...routed],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
