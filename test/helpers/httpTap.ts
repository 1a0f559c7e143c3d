import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One exchange through the tap: the request as the client sent it, the answer as the server gave it. */
export interface TappedExchange {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  response: string;
}

export interface HttpTap {
  /** The tap's address with the target's path: what the client under test is given. */
  url: string;
  exchanges: TappedExchange[];
  close(): Promise<void>;
}

/**
 * A wire tap in front of an HTTP MCP endpoint: every request is passed on unchanged and streamed back
 * unchanged (SSE included), and kept with its answer, so a test sees what a real client sent.
 */
export async function startHttpTap(target: string): Promise<HttpTap> {
  const to = new URL(target);
  const exchanges: TappedExchange[] = [];
  const server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      const exchange: TappedExchange = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(body).toString('utf8'),
        status: 0,
        response: '',
      };
      exchanges.push(exchange);
      const upstream = request(
        {
          host: to.hostname,
          port: to.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: to.host },
        },
        (answer) => {
          exchange.status = answer.statusCode ?? 0;
          res.writeHead(exchange.status, answer.headers);
          answer.on('data', (chunk: Buffer) => {
            exchange.response += chunk.toString('utf8');
            res.write(chunk);
          });
          answer.on('end', () => res.end());
        },
      );
      upstream.on('error', () => res.destroy());
      // A client that hangs up (cancelling, at 2026-07-28) hangs up on the server too.
      res.on('close', () => upstream.destroy());
      upstream.end(Buffer.concat(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${to.pathname}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
