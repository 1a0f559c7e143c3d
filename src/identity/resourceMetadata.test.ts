import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import { describe, expect, it } from 'vitest';
import { resourceMetadata } from './resourceMetadata.js';

const jwt = {
  issuer: 'https://idp.example/realms/corp',
  audience: 'gatehouse',
  jwksUri: 'https://idp.example/realms/corp/certs',
  subjectClaim: 'sub',
  groupsClaim: 'groups',
  algorithms: ['RS256'],
};

describe('protected-resource metadata', () => {
  it('lives at the path-suffixed well-known URL of the MCP endpoint (RFC 9728 §3.1), and at the root', () => {
    const metadata = resourceMetadata(jwt, 'https://gh.example/mcp');
    expect(metadata.url).toBe('https://gh.example/.well-known/oauth-protected-resource/mcp');
    expect(metadata.paths).toEqual([
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]);
    expect(OAuthProtectedResourceMetadataSchema.parse(metadata.document)).toEqual({
      resource: 'https://gh.example/mcp',
      authorization_servers: ['https://idp.example/realms/corp'],
      bearer_methods_supported: ['header'],
      resource_name: 'Gatehouse',
    });
  });

  it('a resource at the root, or with a trailing slash, has one well-known path', () => {
    expect(resourceMetadata(jwt, 'https://gh.example/').paths).toEqual([
      '/.well-known/oauth-protected-resource',
    ]);
    expect(resourceMetadata(jwt, 'https://gh.example/tools/mcp/').url).toBe(
      'https://gh.example/.well-known/oauth-protected-resource/tools/mcp',
    );
  });

  it('publishes the configured scopes', () => {
    const metadata = resourceMetadata({ ...jwt, scopes: ['mcp:tools'] }, 'https://gh.example/mcp');
    expect(metadata.document.scopes_supported).toEqual(['mcp:tools']);
    expect(metadata.scopes).toEqual(['mcp:tools']);
  });
});
