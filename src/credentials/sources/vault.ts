import { endpointName, requestJson } from './http.js';
import { MintError, type MintContext, type Minted } from './types.js';

export interface VaultSource {
  address: string;
  token: string;
  namespace?: string;
  field: string;
}

/**
 * A HashiCorp Vault dynamic secret over its HTTP API: one read of the rendered path per call (a fresh
 * lease: database credentials, a cloud token), the credential taken from `data.<field>` (dots go
 * deeper, for KV v2's `data.data`), and the lease revoked after the call through
 * `PUT /v1/sys/leases/revoke`. A secret without a lease (static KV) is discarded instead.
 */
export async function mintVaultSecret(source: VaultSource, context: MintContext): Promise<Minted> {
  const path = (context.rendered.path ?? '').replace(/^\/+/, '');
  const problem = pathProblem(path);
  if (problem) throw new MintError(`its Vault path ${JSON.stringify(path.slice(0, 200))} ${problem}`);
  const url = new URL(`v1/${path}`, withSlash(source.address)).toString();
  const where = `Vault at ${endpointName(url)}`;
  const answer = await requestJson(
    url,
    { method: 'GET', headers: vaultHeaders(source), signal: context.signal },
    where,
  );
  if (answer.status !== 200)
    throw new MintError(`${where} answered HTTP ${answer.status}${vaultErrors(answer.body)}`);
  const value = fieldOf(answer.body?.data, source.field);
  if (typeof value !== 'string' || !value)
    throw new MintError(`${where} answered without a string data.${source.field}`);
  const leaseId = answer.body?.lease_id;
  if (typeof leaseId !== 'string' || !leaseId) return { value };
  return { value, leaseId, revoke: (signal) => revokeLease(source, leaseId, signal) };
}

async function revokeLease(source: VaultSource, leaseId: string, signal: AbortSignal): Promise<void> {
  const url = new URL('v1/sys/leases/revoke', withSlash(source.address)).toString();
  const where = `Vault at ${endpointName(url)}`;
  const answer = await requestJson(
    url,
    {
      method: 'PUT',
      headers: { ...vaultHeaders(source), 'content-type': 'application/json' },
      body: JSON.stringify({ lease_id: leaseId }),
      signal,
    },
    where,
  );
  if (answer.status !== 204 && answer.status !== 200)
    throw new MintError(`${where} answered HTTP ${answer.status}${vaultErrors(answer.body)}`);
}

/**
 * The path is rendered from arguments a model wrote: `database/creds/' + args.role` must not reach
 * `sys/…` through `..`, a query or an encoded slash. Plain segments only.
 */
function pathProblem(path: string): string | undefined {
  if (!path) return 'is empty';
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return 'has an empty, "." or ".." segment';
    if (!/^[A-Za-z0-9_.@:+=-]+$/.test(segment)) return 'has characters outside A-Z a-z 0-9 _ . @ : + = -';
  }
  return undefined;
}

function vaultHeaders(source: VaultSource): Record<string, string> {
  return {
    'x-vault-token': source.token,
    accept: 'application/json',
    ...(source.namespace ? { 'x-vault-namespace': source.namespace } : {}),
  };
}

function withSlash(address: string): string {
  return address.endsWith('/') ? address : `${address}/`;
}

function fieldOf(data: unknown, field: string): unknown {
  let value = data;
  for (const key of field.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Vault's `errors` are its own prose (permission denied, …), never the token: shown, bounded. */
function vaultErrors(body: Record<string, unknown> | undefined): string {
  const errors = body?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return '';
  const text = errors
    .filter((e) => typeof e === 'string')
    .join('; ')
    .slice(0, 200);
  return text ? `: ${text}` : '';
}
