import { describe, expect, it } from 'vitest';
import { bearerRefusal } from './challenge.js';

describe('RFC 6750 refusals', () => {
  it('a request without credentials gets a bare challenge, no error code', () => {
    expect(bearerRefusal({ kind: 'missing', reason: 'no header' })).toMatchObject({
      status: 401,
      wwwAuthenticate: 'Bearer realm="gatehouse"',
    });
  });

  it('a token that does not verify: 401 invalid_token with the reason', () => {
    const refusal = bearerRefusal({ kind: 'invalid', reason: 'the token has expired' });
    expect(refusal.status).toBe(401);
    expect(refusal.wwwAuthenticate).toBe(
      'Bearer realm="gatehouse", error="invalid_token", error_description="the token has expired"',
    );
    expect(refusal.message).toBe('Unauthorized: the token has expired');
  });

  it('a malformed header: 400 invalid_request', () => {
    const refusal = bearerRefusal({ kind: 'malformed', reason: 'two tokens' });
    expect(refusal.status).toBe(400);
    expect(refusal.wwwAuthenticate).toContain('error="invalid_request"');
  });

  it('keys that cannot be fetched: 503 without a challenge (no other token would help)', () => {
    const refusal = bearerRefusal({ kind: 'unavailable', reason: 'keys unreachable' });
    expect(refusal.status).toBe(503);
    expect(refusal.wwwAuthenticate).toBeUndefined();
  });

  it('keeps the description a valid quoted string', () => {
    const refusal = bearerRefusal({ kind: 'invalid', reason: 'the "sub" claim \\ é\n' });
    expect(refusal.wwwAuthenticate).toContain(`error_description="the 'sub' claim ? ??"`);
  });

  it('with an issuer, every challenge names the resource metadata and the scopes', () => {
    const hints = {
      resourceMetadata: 'https://gh.example/.well-known/oauth-protected-resource/mcp',
      scopes: ['a', 'b'],
    };
    const tail =
      'resource_metadata="https://gh.example/.well-known/oauth-protected-resource/mcp", scope="a b"';
    expect(bearerRefusal({ kind: 'missing', reason: 'none' }, hints).wwwAuthenticate).toBe(
      `Bearer realm="gatehouse", ${tail}`,
    );
    expect(bearerRefusal({ kind: 'invalid', reason: 'expired' }, hints).wwwAuthenticate).toBe(
      `Bearer realm="gatehouse", error="invalid_token", error_description="expired", ${tail}`,
    );
    expect(bearerRefusal({ kind: 'unavailable', reason: 'down' }, hints).wwwAuthenticate).toBeUndefined();
  });
});
