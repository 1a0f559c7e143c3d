import { describe, expect, it } from 'vitest';
import { createVault, extractSecrets, secretFlag, variableName } from './secrets.js';

describe('moving secrets into ${VAR} references', () => {
  it('moves a value under a secret name whole, named after the server and the field', () => {
    const vault = createVault();
    expect(extractSecrets('plainkey42', 'crm', 'X-Api-Key', vault)).toBe('${CRM_X_API_KEY}');
    expect(
      extractSecrets(
        'ghp_F1xtur3T0kenF1xtur3T0kenF1xtur3T0ken',
        'github',
        'GITHUB_PERSONAL_ACCESS_TOKEN',
        vault,
      ),
    ).toBe('${GITHUB_PERSONAL_ACCESS_TOKEN}');
    expect(vault.variables).toEqual({
      CRM_X_API_KEY: 'plainkey42',
      GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_F1xtur3T0kenF1xtur3T0kenF1xtur3T0ken',
    });
  });

  it('moves only the secret part of a value that has a secret shape', () => {
    const vault = createVault();
    expect(extractSecrets('Bearer sk-crm-0123456789abcdef0123', 'crm', 'Authorization', vault)).toBe(
      'Bearer ${CRM_AUTHORIZATION}',
    );
    expect(extractSecrets('postgresql://app:pw-F1x@db:5432/app', 'pg', undefined, vault)).toBe(
      'postgresql://app:${PG_URL_PASSWORD}@db:5432/app',
    );
    expect(extractSecrets('--access-token=F1xtureAccessToken42', 'db', undefined, vault)).toBe(
      '--access-token=${DB_ACCESS_TOKEN}',
    );
    expect(extractSecrets('https://x.example/mcp?api_key=abc123&v=2', 'x', undefined, vault)).toBe(
      'https://x.example/mcp?api_key=${X_API_KEY}&v=2',
    );
    expect(vault.variables).toEqual({
      CRM_AUTHORIZATION: 'sk-crm-0123456789abcdef0123',
      PG_URL_PASSWORD: 'pw-F1x',
      DB_ACCESS_TOKEN: 'F1xtureAccessToken42',
      X_API_KEY: 'abc123',
    });
  });

  it('leaves ordinary values and existing references alone', () => {
    const vault = createVault();
    expect(extractSecrets('/home/me/memory.json', 'memory', 'MEMORY_FILE_PATH', vault)).toBe(
      '/home/me/memory.json',
    );
    expect(extractSecrets('${API_KEY}', 'api', 'API_KEY', vault)).toBe('${API_KEY}');
    expect(extractSecrets('Bearer ${API_KEY}', 'api', 'Authorization', vault)).toBe('Bearer ${API_KEY}');
    expect(extractSecrets('token=${T:-none}', 'api', undefined, vault)).toBe('token=${T:-none}');
    expect(extractSecrets('', 'api', 'API_KEY', vault)).toBe('');
    expect(vault.variables).toEqual({});
  });

  it('gives one value one variable, and two values under one name two variables', () => {
    const vault = createVault();
    expect(extractSecrets('same-secret', 'a', 'TOKEN', vault)).toBe('${A_TOKEN}');
    expect(extractSecrets('same-secret', 'b', 'TOKEN', vault)).toBe('${A_TOKEN}');
    expect(vault.put('A_TOKEN', 'other-secret')).toBe('A_TOKEN_2');
  });

  it('names variables as environment variables', () => {
    expect(variableName('Perplexity Search')).toBe('PERPLEXITY_SEARCH');
    expect(variableName('input_perplexity-key')).toBe('INPUT_PERPLEXITY_KEY');
    expect(variableName('githubToken')).toBe('GITHUB_TOKEN');
    expect(variableName('2fa')).toBe('_2FA');
  });

  it('knows the flags that name a secret', () => {
    expect(secretFlag('--api-key')).toBe('api-key');
    expect(secretFlag('--token')).toBe('token');
    expect(secretFlag('--port')).toBeUndefined();
    expect(secretFlag('--api-key=x')).toBeUndefined();
    expect(secretFlag(undefined)).toBeUndefined();
  });
});
