import type { Config } from '../config/schema.js';

type JwtIdentity = NonNullable<Config['identity']['jwt']>;

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728), which the MCP authorization spec requires of a
 * server that takes access tokens: it tells a client which issuer to get a token from, so Claude
 * Code, VS Code and the like can sign the user in on their own instead of needing a pasted token.
 */
export interface ResourceMetadata {
  /** Where the document is served: the path-suffixed form of §3.1 first, then the root form. */
  paths: readonly string[];
  /** The absolute URL the 401 challenge points at. */
  url: string;
  document: {
    resource: string;
    authorization_servers: string[];
    bearer_methods_supported: ['header'];
    resource_name: string;
    scopes_supported?: string[];
  };
  scopes?: readonly string[];
}

/** The metadata of the MCP endpoint `resource` (an absolute URL), for tokens from `jwt.issuer`. */
export function resourceMetadata(jwt: JwtIdentity, resource: string): ResourceMetadata {
  const url = new URL(resource);
  const suffix = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const path = `/.well-known/oauth-protected-resource${suffix}`;
  return {
    paths: suffix ? [path, '/.well-known/oauth-protected-resource'] : [path],
    url: `${url.origin}${path}`,
    document: {
      resource,
      authorization_servers: [jwt.issuer],
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse',
      ...(jwt.scopes ? { scopes_supported: [...jwt.scopes] } : {}),
    },
    scopes: jwt.scopes,
  };
}
