/*
 * The wire vocabulary of MCP 2026-07-28 that Gatehouse speaks on both sides: its front
 * (front/era2026/) and its client of modern servers (downstream/era2026.ts).
 */

/** The revision: the one Gatehouse speaks to modern servers, and serves modern clients. */
export const MODERN_VERSION = '2026-07-28';

/**
 * The `_meta` keys (basic/index.mdx): the envelope every request carries about its sender, the
 * server's identity on results, and the subscription a listen notification belongs to.
 */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** The server requests an InputRequiredResult may carry (basic/patterns/mrtr.mdx). */
export const INPUT_METHODS: ReadonlySet<string> = new Set([
  'sampling/createMessage',
  'elicitation/create',
  'roots/list',
]);
