import path from 'node:path';
import { sha256Canonical } from '../approvals/digest.js';
import { isStdioServer, type ServerConfig } from '../config/schema.js';
import { prepareVars } from '../decision/input.js';
import type { PolicyLimits } from '../decision/options.js';
import { describeError, GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import { rememberCredential, type KnownCredential } from '../redact/known.js';
import type { CredentialConfig, CredentialSettings, CredentialSource } from './config.js';
import { deliver, type Delivery } from './inject.js';
import { mintByCommand } from './sources/command.js';
import { mintOAuthToken } from './sources/oauth.js';
import { mintStatic } from './sources/static.js';
import { MintError, type MintContext, type Minted } from './sources/types.js';
import { mintVaultSecret } from './sources/vault.js';
import { compileTemplate, type Template } from './template.js';

/**
 * The lifecycle of a call's credentials: minted for the one call the executor has claimed (so a
 * replayed approval, a retry answered from the stored outcome or a losing claim never gets here),
 * rendered from the arguments that run, bounded by a timeout, delivered to that call only, and
 * revoked or discarded after it whatever its outcome. The values are made known to the scrubber at
 * once, so no output Gatehouse produces shows them.
 */

/** What the audit trail keeps of one credential a call used: never the value. */
export interface CredentialUse {
  name: string;
  source: CredentialSource['type'];
  /** The source's lease or token id (Vault's lease_id, a command's leaseId). */
  leaseId?: string;
  /** sha256 of the rendered templates (scope, audience, resource, path): which scope was asked for. */
  scopeDigest?: string;
  /** After the call: whether a revocation was asked for and succeeded (absent: only discarded). */
  revoked?: boolean;
}

/** The credentials of one call, delivered and ready to be taken back. */
export interface Grant extends Delivery {
  uses: CredentialUse[];
  /** How often the scrubber has removed one of these values since they were minted. */
  scrubbed(): number;
  /** Revoke what can be revoked (bounded by revokeTimeoutMs); never throws. Idempotent. */
  release(): Promise<void>;
}

export interface MintRequest {
  server: string;
  names: readonly string[];
  call: ToolCall;
  approvalId?: string;
}

export interface BrokerDeps {
  servers: Readonly<Record<string, ServerConfig>>;
  settings: CredentialSettings;
  /** The config file's folder: static credential files are relative to it. */
  configDir: string;
  vars: Record<string, unknown>;
  limits: PolicyLimits;
  logger: Logger;
  now?: () => Date;
}

interface Prepared {
  name: string;
  config: CredentialConfig;
  templates: [string, Template][];
}

const TEMPLATE_FIELDS = ['scope', 'audience', 'resource', 'path'] as const;

export function createCredentialBroker(deps: BrokerDeps) {
  const log = deps.logger.child({ module: 'credentials' });
  const now = deps.now ?? (() => new Date());
  const preparedVars = prepareVars(deps.vars);
  const vars = preparedVars.ok ? preparedVars.vars : new Map<string, unknown>();
  const byServer = new Map<string, Map<string, Prepared>>();
  for (const [server, config] of Object.entries(deps.servers)) {
    const credentials = new Map<string, Prepared>();
    for (const [name, credential] of Object.entries(config.credentials ?? {})) {
      const source = credential.source as Record<string, unknown>;
      const templates: [string, Template][] = TEMPLATE_FIELDS.filter(
        (f) => typeof source[f] === 'string',
      ).map((f) => [f, compileTemplate(source[f] as string, f, deps.limits)]);
      // A static value is known from the start: scrubbed wherever it shows, for good.
      if (credential.source.type === 'static' && credential.source.value)
        rememberCredential(credential.source.value, true);
      credentials.set(name, { name, config: credential, templates });
    }
    byServer.set(server, credentials);
  }

  /** The credentials a server defines, by name. */
  function defined(server: string): ReadonlySet<string> {
    return new Set(byServer.get(server)?.keys() ?? []);
  }

  /**
   * Mint every named credential for one call, in parallel, within mintTimeoutMs. Any failure revokes
   * what was minted and throws CREDENTIAL_UNAVAILABLE: the call never runs without a credential a rule
   * gave it, nor with another one.
   */
  async function mint(request: MintRequest): Promise<Grant> {
    const { server, call } = request;
    const known = byServer.get(server);
    const uses: CredentialUse[] = [];
    const prepared: Prepared[] = [];
    for (const name of request.names) {
      const credential = known?.get(name);
      if (!credential) {
        throw unavailable(
          request,
          name,
          `server "${server}" defines no credential "${name}" (a policy rule names it)`,
          uses,
        );
      }
      prepared.push(credential);
      uses.push({ name, source: credential.config.source.type });
    }
    const signal = AbortSignal.timeout(deps.settings.mintTimeoutMs);
    const minted: (Minted | undefined)[] = new Array(prepared.length);
    const knowns: KnownCredential[] = [];
    const results = await Promise.allSettled(
      prepared.map(async (credential, i) => {
        const rendered = renderAll(credential, call, uses[i]!);
        const work = mintOne(credential.config.source, {
          call,
          approvalId: request.approvalId,
          rendered,
          signal,
        });
        // One that arrives after the bound was never delivered: taken back at once.
        work.then(
          (late) => {
            if (minted[i] === undefined && signal.aborted)
              void late.revoke?.(AbortSignal.timeout(deps.settings.revokeTimeoutMs)).catch(() => undefined);
          },
          () => undefined,
        );
        const value = await withTimeout(work, signal, deps.settings.mintTimeoutMs);
        // Known to the scrubber before anything can echo it.
        knowns.push(rememberCredential(value.value));
        minted[i] = value;
        if (value.leaseId) uses[i]!.leaseId = value.leaseId;
      }),
    );
    const grant = grantOf(prepared, minted, uses, knowns);
    const failure = results.findIndex((r) => r.status === 'rejected');
    if (failure >= 0) {
      await grant.release();
      const reason = (results[failure] as PromiseRejectedResult).reason as unknown;
      throw unavailable(request, prepared[failure]!.name, describeMintFailure(reason), uses);
    }
    try {
      Object.assign(
        grant,
        deliver(prepared.map((p, i) => ({ name: p.name, inject: p.config.inject, value: minted[i]!.value }))),
      );
    } catch (error) {
      await grant.release();
      throw unavailable(request, prepared[0]!.name, (error as Error).message, uses);
    }
    log.debug(
      { server, callId: call.requestId, credentials: uses.map((u) => u.name) },
      'credentials minted for the call',
    );
    return grant;
  }

  /** Templates rendered from the approved call; their digest goes in the record. */
  function renderAll(credential: Prepared, call: ToolCall, use: CredentialUse): Record<string, string> {
    const rendered: Record<string, string> = {};
    const at = now();
    for (const [field, template] of credential.templates) {
      try {
        rendered[field] = template(call, at, vars);
      } catch (error) {
        throw new MintError((error as Error).message);
      }
    }
    if (credential.templates.length > 0) use.scopeDigest = `sha256:${sha256Canonical(rendered)}`;
    return rendered;
  }

  function mintOne(source: CredentialSource, context: MintContext): Promise<Minted> {
    switch (source.type) {
      case 'static':
        return mintStatic(
          source.file ? { file: path.resolve(deps.configDir, source.file) } : { value: source.value },
        );
      case 'command':
        return mintByCommand(source, context);
      case 'oauth':
        return mintOAuthToken(source, context);
      case 'vault':
        return mintVaultSecret(source, context);
    }
  }

  function grantOf(
    prepared: Prepared[],
    minted: (Minted | undefined)[],
    uses: CredentialUse[],
    knowns: KnownCredential[],
  ): Grant {
    let released: Promise<void> | undefined;
    const release = async () => {
      const signal = AbortSignal.timeout(deps.settings.revokeTimeoutMs);
      await Promise.all(
        minted.map(async (m, i) => {
          if (!m?.revoke) return;
          try {
            await withTimeout(m.revoke(signal), signal, deps.settings.revokeTimeoutMs);
            uses[i]!.revoked = true;
          } catch (error) {
            uses[i]!.revoked = false;
            log.error(
              { credential: prepared[i]!.name, leaseId: m.leaseId, reason: describeMintFailure(error) },
              'a credential could not be revoked after its call; it lives until it expires',
            );
          }
        }),
      );
    };
    return {
      headers: {},
      env: {},
      uses,
      scrubbed: () => knowns.reduce((sum, k) => sum + k.hits(), 0),
      release: () => (released ??= release()),
    };
  }

  return { mint, defined };
}

export type CredentialBroker = ReturnType<typeof createCredentialBroker>;

/** The names every server defines, for the policies' load-time check of `credentials`. */
export function credentialNames(servers: Readonly<Record<string, ServerConfig>>): Set<string> {
  return new Set(Object.values(servers).flatMap((s) => Object.keys(s.credentials ?? {})));
}

/** Whether calls to this server that carry a credential run in a process of their own. */
export function startsPerCall(server: ServerConfig): boolean {
  return isStdioServer(server) && server.startPerCall === true;
}

function unavailable(request: MintRequest, name: string, reason: string, uses: CredentialUse[]) {
  return new GatehouseError(
    'CREDENTIAL_UNAVAILABLE',
    `the credential "${name}" for server "${request.server}" could not be minted: ${reason}. ` +
      'The call was not executed: it never runs without the credential its rule gives it.',
    { server: request.server, credential: name, uses },
  );
}

function describeMintFailure(error: unknown): string {
  return error instanceof MintError ? error.message : describeError(error);
}

/** A source that ignores its signal still cannot hold the call beyond the bound. */
function withTimeout<T>(work: Promise<T>, signal: AbortSignal, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(new MintError(`it took longer than ${ms} ms`));
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
