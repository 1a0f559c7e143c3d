import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { GatehouseError } from '../errors.js';
import { isPostgresUrl } from '../store/postgres/options.js';
import { readEnvFile } from './envFile.js';
import {
  ApprovalsSchema,
  ConfigSchema,
  HttpListenerSchema,
  type Config,
  type ServerConfig,
} from './schema.js';

export const DEFAULT_CONFIG_FILE = './mcp.config.json';

type JsonPath = readonly (string | number)[];

/** `$.mcpServers.fs.args[0]`: the JSON path notation used in every config message. */
export function formatJsonPath(p: JsonPath): string {
  return (
    '$' +
    p
      .map((k) =>
        typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$-]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`,
      )
      .join('')
  );
}

/** Read, expand `${VAR}`, validate completely, default, resolve paths and freeze. Throws GatehouseError. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const absolute = path.resolve(file);
  return parseConfig(readConfigText(absolute), absolute, env);
}

function readConfigText(absolute: string): string {
  try {
    return readFileSync(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new GatehouseError('CONFIG_NOT_FOUND', `${absolute}: cannot read the config file (${reason})`, {
      file: absolute,
    });
  }
}

const ListenerSchema = z.object({
  http: HttpListenerSchema.default(HttpListenerSchema.parse({})),
  approvals: z.object({ publicUrl: ApprovalsSchema.shape.publicUrl }).default({}),
});

/** Where a running Gatehouse answers, as its config says: the listener and the approval page's public URL. */
export interface ListenerAddress {
  http: Config['http'];
  publicUrl?: string;
}

/**
 * Only what the commands that talk to a running Gatehouse (`status`, `approvals`) need: its listener
 * and `approvals.publicUrl`. The `${VAR}`s elsewhere (a downstream's token, an OIDC secret) are the
 * server's business and need not be set where these commands run; only those in these two places are
 * expanded and checked.
 */
export function loadListenerAddress(file: string, env: NodeJS.ProcessEnv = process.env): ListenerAddress {
  const absolute = path.resolve(file);
  const text = readConfigText(absolute);
  const { raw, locate } = parseJsonText(text, absolute);
  const config = (raw ?? {}) as { http?: unknown; approvals?: { publicUrl?: unknown } };
  const part = {
    ...(config.http !== undefined ? { http: config.http } : {}),
    ...(config.approvals?.publicUrl !== undefined
      ? { approvals: { publicUrl: config.approvals.publicUrl } }
      : {}),
  };
  const expanded = expandChecked(part, absolute, env, locate);
  const parsed = ListenerSchema.safeParse(expanded);
  if (!parsed.success) throw invalid(parsed.error.issues, expanded, absolute, locate);
  return {
    http: parsed.data.http,
    ...(parsed.data.approvals.publicUrl ? { publicUrl: parsed.data.approvals.publicUrl } : {}),
  };
}

/** The base URL of the Gatehouse a config describes: a wildcard bind address is reached on loopback. */
export function listenerUrl(http: Config['http']): string {
  const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${http.port}`;
}

function parseJsonText(text: string, file: string) {
  const locate = locator(text, file);
  try {
    return { raw: JSON.parse(text) as unknown, locate };
  } catch (error) {
    const position = /position (\d+)/.exec(String((error as Error).message));
    const where = position ? locate.offset(Number(position[1])) : file;
    throw new GatehouseError('CONFIG_INVALID', `${where}: not valid JSON: ${(error as Error).message}`, {
      file,
    });
  }
}

function expandChecked(
  raw: unknown,
  file: string,
  env: NodeJS.ProcessEnv,
  locate: ReturnType<typeof locator>,
): unknown {
  const problems: string[] = [];
  // Built in, so configs can name paths beside themselves wherever Gatehouse is started from. A
  // variable set (not empty) in the environment wins over the env file, as with `node --env-file`.
  const variables: NodeJS.ProcessEnv = envFileVariables(raw, file, locate);
  for (const [name, value] of Object.entries(env)) if (value) variables[name] = value;
  variables.GATEHOUSE_CONFIG_DIR = path.dirname(file);
  const expanded = expandEnv(raw, [], variables, (p, name) =>
    problems.push(`${locate.path(p)}: ${formatJsonPath(p)}: environment variable ${name} is not set`),
  );
  if (problems.length > 0) {
    throw new GatehouseError('CONFIG_ENV_MISSING', problems.join('\n'), { file, problems });
  }
  return expanded;
}

function invalid(
  issues: readonly z.core.$ZodIssue[],
  expanded: unknown,
  file: string,
  locate: ReturnType<typeof locator>,
): GatehouseError {
  const messages = flattenIssues(issues, expanded).map(
    (issue) => `${locate.path(issue.path)}: ${formatJsonPath(issue.path)}: ${issue.message}`,
  );
  return new GatehouseError('CONFIG_INVALID', messages.join('\n'), { file, problems: messages });
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const { raw, locate } = parseJsonText(text, file);
  const expanded = expandChecked(raw, file, env, locate);
  const parsed = ConfigSchema.safeParse(expanded);
  if (!parsed.success) throw invalid(parsed.error.issues, expanded, file, locate);
  const data = parsed.data;
  if (data.mcpServers && data.servers) {
    const where = locate.path(['servers']);
    throw new GatehouseError(
      'CONFIG_INVALID',
      `${where}: $.servers: use either "mcpServers" or its alias "servers", not both`,
      { file },
    );
  }

  const baseDir = path.dirname(file);
  const servers: Record<string, ServerConfig> = {};
  for (const [name, server] of Object.entries(data.mcpServers ?? data.servers ?? {})) {
    servers[name] =
      'command' in server ? { ...server, cwd: path.resolve(baseDir, server.cwd ?? '.') } : { ...server };
  }
  const { mcpServers: _m, servers: _s, $schema: _schema, ...rest } = data;
  return deepFreeze({
    ...rest,
    file,
    servers,
    envFile: data.envFile ? path.resolve(baseDir, data.envFile) : undefined,
    policies: path.resolve(baseDir, data.policies),
    log: { ...data.log, file: data.log.file ? path.resolve(baseDir, data.log.file) : undefined },
    approvals: resolveStore(data.approvals, baseDir),
    audit: {
      ...data.audit,
      dir: path.resolve(baseDir, data.audit.dir),
      keyFile: path.resolve(baseDir, data.audit.keyFile),
      ...(data.audit.mirror.dir
        ? { mirror: { ...data.audit.mirror, dir: path.resolve(baseDir, data.audit.mirror.dir) } }
        : {}),
    },
  });
}

/** A store file and the PostgreSQL TLS files resolve against the config's folder; a URL stays as it is. */
function resolveStore(approvals: Config['approvals'], baseDir: string): Config['approvals'] {
  const file = (name: string | undefined) => (name === undefined ? undefined : path.resolve(baseDir, name));
  const { tls } = approvals.postgres;
  return {
    ...approvals,
    store: isPostgresUrl(approvals.store) ? approvals.store : path.resolve(baseDir, approvals.store),
    postgres: {
      ...approvals.postgres,
      tls: {
        mode: tls.mode,
        ...(tls.ca ? { ca: file(tls.ca) } : {}),
        ...(tls.cert ? { cert: file(tls.cert) } : {}),
        ...(tls.key ? { key: file(tls.key) } : {}),
      },
    },
  };
}

/** The variables of the config's `envFile` (relative to the config), read before anything is expanded. */
function envFileVariables(
  raw: unknown,
  file: string,
  locate: ReturnType<typeof locator>,
): Record<string, string> {
  const named = raw !== null && typeof raw === 'object' ? (raw as { envFile?: unknown }).envFile : undefined;
  if (typeof named !== 'string' || named === '') return {};
  const envFile = path.resolve(path.dirname(file), named);
  try {
    return readEnvFile(envFile);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new GatehouseError(
      'CONFIG_NOT_FOUND',
      `${locate.path(['envFile'])}: $.envFile: cannot read the env file ${envFile} (${reason})`,
      { file, envFile },
    );
  }
}

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replace `${VAR}` and `${VAR:-default}` in every string; report unset variables with their path. */
function expandEnv(
  value: unknown,
  at: JsonPath,
  env: NodeJS.ProcessEnv,
  missing: (p: JsonPath, name: string) => void,
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REFERENCE, (_whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      missing(at, name);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => expandEnv(item, [...at, i], env, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, expandEnv(v, [...at, k], env, missing)]),
    );
  }
  return value;
}

interface FlatIssue {
  path: JsonPath;
  message: string;
}

/**
 * zod reports a failed union as one issue holding every branch's issues. A server entry is a union of
 * stdio and HTTP shapes: report the branch the user evidently meant (has `url` → HTTP), not both.
 */
function flattenIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  base: JsonPath = [],
): FlatIssue[] {
  const out: FlatIssue[] = [];
  for (const issue of issues) {
    const at = [...base, ...(issue.path as (string | number)[])];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const value = valueAt(input, at);
      const wantsHttp = value !== null && typeof value === 'object' && 'url' in value;
      const branch = issue.errors[wantsHttp ? 1 : 0] ?? issue.errors[0]!;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        out.push({ path: at, message: 'expected an object with "command" (stdio) or "url" (HTTP)' });
      } else {
        out.push(...flattenIssues(branch, input, at));
      }
      continue;
    }
    if (issue.code === 'invalid_key') {
      // zod's own message ("Invalid key in record") hides why; the key's schema says it.
      out.push({ path: at, message: `invalid key: ${issue.issues.map((i) => i.message).join('; ')}` });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...at, key], message: `unknown key "${key}"` });
      continue;
    }
    out.push({ path: at, message: issue.message });
  }
  return out;
}

function valueAt(input: unknown, at: JsonPath): unknown {
  let value: unknown = input;
  for (const key of at) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** Maps JSON paths and offsets to `file:line:col`, using the yaml parser's source ranges (JSON is YAML). */
function locator(text: string, file: string) {
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument> | undefined;
  try {
    doc = parseDocument(text, { lineCounter, keepSourceTokens: false });
  } catch {
    doc = undefined;
  }
  const offset = (pos: number): string => {
    const { line, col } = lineCounter.linePos(pos);
    return `${file}:${line}:${col}`;
  };
  return {
    offset,
    path(p: JsonPath): string {
      if (!doc) return file;
      // Walk up until a node exists: a missing key is reported at its parent object.
      for (let n = p.length; n >= 0; n--) {
        const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node && typeof node === 'object' && node.range) {
          if (n === p.length - 1 || n === p.length) {
            // For an unknown key, point at the key itself rather than its value.
            const keyOffset = n === p.length ? keyPosition(doc, p) : undefined;
            return offset(keyOffset ?? node.range[0]);
          }
          return offset(node.range[0]);
        }
      }
      return file;
    },
  };
}

function keyPosition(doc: ReturnType<typeof parseDocument>, p: JsonPath): number | undefined {
  if (p.length === 0) return undefined;
  const parent = doc.getIn(p.slice(0, -1), true) as
    { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | undefined;
  const key = p[p.length - 1];
  const pair = parent?.items?.find((item) => item.key?.value === key);
  return pair?.key?.range?.[0];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
