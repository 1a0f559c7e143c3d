import type { IncomingHttpHeaders } from 'node:http';
import {
  MCP_NAME_FIELDS,
  decodeHeaderValue,
  paramMismatch,
  scanHeadersOnce,
} from '../../shared/mcpHeaders.js';

/*
 * The request headers of Streamable HTTP at 2026-07-28 (basic/transports/streamable-http.mdx,
 * "Request Metadata"): the transport mirrors body fields into headers so intermediaries can route on
 * them, and a server that reads the body must refuse a request whose headers say something else
 * (HeaderMismatch): otherwise a gateway deciding on the header and a server acting on the body would
 * see two different requests.
 */

/** The methods whose `Mcp-Name` is required, and the body field it mirrors. */
const NAMED: Record<string, 'name' | 'uri' | 'taskId'> = {
  ...MCP_NAME_FIELDS,
  // The Tasks extension: clients set Mcp-Name to the task id so requests reach the task's holder.
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};
const NAME_REQUIRED = new Set(Object.keys(MCP_NAME_FIELDS));

const single = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

export interface HeaderRequest {
  method: string;
  params?: Record<string, unknown>;
  /** The version the body's `_meta` names, when it names one. */
  protocolVersion?: unknown;
  /** The tool's inputSchema, for tools/call of a tool Gatehouse lists. */
  inputSchema?: unknown;
}

/**
 * Whether MCP-Protocol-Version contradicts the body's version claim. Checked before the claim itself
 * (the conformance suite's HttpServerHeaderMismatch400): a header of a version Gatehouse serves over
 * a body claiming one it does not is a mismatch (-32020), not an unsupported version (-32022).
 */
export function versionMismatch(headers: IncomingHttpHeaders, protocolVersion: unknown): string | undefined {
  const version = single(headers, 'mcp-protocol-version');
  if (version === undefined || typeof protocolVersion !== 'string' || version === protocolVersion)
    return undefined;
  return `MCP-Protocol-Version header value '${version}' does not match body value '${protocolVersion}'`;
}

/** Why the headers do not match the body, or undefined when they do. */
export function headerMismatch(headers: IncomingHttpHeaders, request: HeaderRequest): string | undefined {
  if (single(headers, 'mcp-protocol-version') === undefined)
    return 'the MCP-Protocol-Version header is required';
  const versions = versionMismatch(headers, request.protocolVersion);
  if (versions) return versions;
  const method = single(headers, 'mcp-method');
  if (method === undefined) return 'the Mcp-Method header is required';
  if (method !== request.method) {
    return `Mcp-Method header value '${method}' does not match body value '${request.method}'`;
  }
  const field = NAMED[request.method];
  if (field) {
    const sent = single(headers, 'mcp-name');
    const body = request.params?.[field];
    if (sent === undefined) {
      if (NAME_REQUIRED.has(request.method)) return `the Mcp-Name header is required for ${request.method}`;
    } else {
      const decoded = decodeHeaderValue(sent);
      if (decoded === undefined) return 'the Mcp-Name header holds characters a header value may not carry';
      if (decoded !== body)
        return `Mcp-Name header value '${decoded}' does not match body value '${String(body)}'`;
    }
  }
  if (request.method !== 'tools/call' || request.inputSchema === undefined) return undefined;
  return paramMismatch(scanHeadersOnce(request.inputSchema), request.params?.arguments, (name) =>
    single(headers, name),
  );
}
