import { createHash } from 'node:crypto';
import path from 'node:path';
import type { RE2JS } from 're2js';
import { CALL_VARIABLES, createPolicyEnvironment, type PolicyEnvironment } from './env.js';
import { parseDuration } from './duration.js';
import { prepareVars } from './input.js';
import { compileExpression, type CompiledExpression } from './expression.js';
import { compileGlobs } from './glob.js';
import type { PolicyLimits } from './options.js';
import { parsePolicyFile, type ParsedFile, type ParsedRule } from './parse.js';
import { sortProblems, type Problem } from './problems.js';
import { APPROVAL_DEFAULTS } from './schema.js';
import type { Effect } from './types.js';

/**
 * Policy files in, one immutable compiled policy set out, or every problem with its location. Pure:
 * the caller reads the files (load.ts), so tests and `policy test` compile from memory.
 */

export interface PolicySource {
  /** As shown in messages: `policies/fs.yaml`. */
  file: string;
  text: string;
}

export interface CompileOptions {
  /** The configured vars; undefined when unknown (then `vars.x` is not checked at load time). */
  vars?: Record<string, unknown>;
  limits: PolicyLimits;
  /**
   * The channels the config has (approvals.channels and `page`); undefined when unknown (then a rule's
   * `channels` are not checked). A rule naming another one fails the load.
   */
  channels?: ReadonlySet<string>;
  /**
   * The credential names the servers define; undefined when unknown (then a rule's `credentials` are
   * not checked). A rule naming one no server defines fails the load.
   */
  credentials?: ReadonlySet<string>;
}

export interface CompiledRule {
  id: string;
  effect: Effect;
  reason: string;
  description?: string;
  /** Where the rule is written, for explanations. */
  file: string;
  line: number;
  servers?: { globs: string[]; re: RE2JS };
  tools?: { globs: string[]; re: RE2JS };
  when?: {
    source: string;
    evaluate: Extract<CompiledExpression, { ok: true }>['evaluate'];
    guarded: boolean;
  };
  /** Reads args, caller, now or request: cannot be decided per tool alone. */
  dynamic: boolean;
  approval?: { approvers: string[]; quorum: number; ttlMs: number; channels?: string[] };
  /** Credentials the call's server gets for a call this rule lets through (sorted). */
  credentials?: string[];
}

export interface PolicySet {
  /** `sha256:` and 16 hex digits of the files' names and content, the vars and the limits. */
  version: string;
  mode: 'enforce' | 'shadow';
  defaultEffect: 'allow' | 'deny';
  /** Sorted by precedence (deny, approve, allow), then id: evaluation order never depends on files. */
  rules: readonly CompiledRule[];
  files: readonly string[];
  /** The configured vars as CEL reads them (see input.ts). */
  vars: ReadonlyMap<string, unknown>;
  limits: PolicyLimits;
  /** Candidate rules per `server\0tool`, filled on first use; see candidates.ts. */
  candidates: Map<string, RuleGroups>;
}

/** The rules whose `match` admits one server and tool, by effect, each in id order. */
export interface RuleGroups {
  deny: readonly CompiledRule[];
  approve: readonly CompiledRule[];
  allow: readonly CompiledRule[];
}

export type CompileResult = { ok: true; set: PolicySet } | { ok: false; problems: Problem[] };

const PRECEDENCE: Record<Effect, number> = { deny: 0, approve: 1, allow: 2 };

export function compilePolicySet(sources: readonly PolicySource[], options: CompileOptions): CompileResult {
  const ordered = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const penv = createPolicyEnvironment();
  const varKeys = options.vars ? new Set(Object.keys(options.vars)) : undefined;
  const problems: Problem[] = [];
  const rules: CompiledRule[] = [];
  const ids = new Map<string, string>();
  const settings = new Settings(problems);

  for (const source of ordered) {
    const parsed = parsePolicyFile(source.file, source.text);
    problems.push(...parsed.problems);
    if (parsed.settings) settings.add(parsed, parsed.settings);
    for (const rule of parsed.rules) {
      const where = parsed.source.position(parsed.locate(['rules', rule.index, 'id']));
      const first = ids.get(rule.input.id);
      if (first !== undefined) {
        problems.push(
          parsed.source.problem(
            parsed.locate(['rules', rule.index, 'id']),
            `duplicate rule id (first defined at ${first})`,
            rule.input.id,
          ),
        );
        continue;
      }
      ids.set(rule.input.id, `${source.file}:${where.line}:${where.col}`);
      checkNames(parsed, rule, 'channels', options.channels, problems);
      checkNames(parsed, rule, 'credentials', options.credentials, problems);
      const compiled = compileRule(
        parsed,
        rule,
        penv,
        { maxNesting: options.limits.maxComprehensionNesting, varKeys },
        problems,
      );
      if (compiled) rules.push(compiled);
    }
  }
  if (sources.length === 0)
    problems.push({ file: '(policies)', line: 1, col: 1, message: 'no policy files to load' });
  const vars = prepareVars(options.vars ?? {});
  if (!vars.ok) problems.push({ file: '(vars)', line: 1, col: 1, message: vars.reason });
  if (problems.length > 0 || !vars.ok) return { ok: false, problems: sortProblems(problems) };

  rules.sort((a, b) => PRECEDENCE[a.effect] - PRECEDENCE[b.effect] || (a.id < b.id ? -1 : 1));
  return {
    ok: true,
    set: {
      version: digest(ordered, options),
      mode: settings.mode ?? 'enforce',
      defaultEffect: settings.defaultEffect ?? 'deny',
      rules,
      files: ordered.map((s) => s.file),
      vars: vars.vars,
      limits: options.limits,
      candidates: new Map(),
    },
  };
}

function compileRule(
  parsed: ParsedFile,
  { index, input, offset }: ParsedRule,
  penv: PolicyEnvironment,
  analyzeOptions: { maxNesting: number; varKeys: ReadonlySet<string> | undefined },
  problems: Problem[],
): CompiledRule | undefined {
  const before = problems.length;
  const globs = (key: 'servers' | 'tools'): CompiledRule['servers'] => {
    const list = input.match?.[key];
    if (!list) return undefined;
    list.forEach((glob, i) => {
      try {
        compileGlobs([glob]);
      } catch (error) {
        const path = ['rules', index, 'match', key, i];
        problems.push(
          parsed.source.problem(parsed.locate(path), `match.${key}: ${(error as Error).message}`, input.id),
        );
      }
    });
    return problems.length > before ? undefined : { globs: list, re: compileGlobs(list) };
  };
  const servers = globs('servers');
  const tools = globs('tools');

  let when: CompiledRule['when'];
  let dynamic = false;
  if (input.when !== undefined) {
    const expression = compileExpression(penv, input.when, analyzeOptions);
    if (!expression.ok) {
      for (const finding of expression.findings) {
        problems.push(
          parsed.source.problem(parsed.expressionOffset(index, finding.offset), finding.message, input.id),
        );
      }
    } else {
      when = { source: input.when, evaluate: expression.evaluate, guarded: expression.guarded };
      dynamic = [...expression.reads].some((name) => CALL_VARIABLES.has(name));
    }
  }
  if (problems.length > before) return undefined;

  const where = parsed.source.position(offset);
  return {
    id: input.id,
    effect: input.effect,
    reason: input.reason ?? input.description ?? defaultReason(input.effect),
    ...(input.description === undefined ? {} : { description: input.description }),
    file: parsed.source.file,
    line: where.line,
    ...(servers ? { servers } : {}),
    ...(tools ? { tools } : {}),
    ...(when ? { when } : {}),
    dynamic,
    ...(input.credentials ? { credentials: [...new Set(input.credentials)].sort() } : {}),
    ...(input.effect === 'approve'
      ? {
          approval: {
            approvers: [...new Set(input.approvers)].sort(),
            quorum: input.quorum ?? APPROVAL_DEFAULTS.quorum,
            ttlMs: parseDuration(input.ttl ?? APPROVAL_DEFAULTS.ttl)!,
            ...(input.channels ? { channels: [...new Set(input.channels)].sort() } : {}),
          },
        }
      : {}),
  };
}

/**
 * Each channel a rule names must be configured (a typo would leave requests unannounced), and each
 * credential must be defined on some server (a typo would fail every call the rule lets through).
 */
function checkNames(
  parsed: ParsedFile,
  { index, input }: ParsedRule,
  key: 'channels' | 'credentials',
  known: ReadonlySet<string> | undefined,
  problems: Problem[],
): void {
  if (!known) return;
  const listed = [...known].sort().join(', ');
  input[key]?.forEach((name, i) => {
    if (known.has(name)) return;
    const message =
      key === 'channels'
        ? `no channel "${name}" is configured (approvals.channels has: ${listed})`
        : `no server defines a credential "${name}" (${known.size > 0 ? `servers define: ${listed}` : 'no server defines any'})`;
    problems.push(parsed.source.problem(parsed.locate(['rules', index, key, i]), message, input.id));
  });
}

function defaultReason(effect: Effect): string {
  if (effect === 'deny') return 'the policy forbids this call';
  if (effect === 'approve') return 'this call needs human approval';
  return 'the policy allows this call';
}

/** `default` and `mode` may be set in any file, but never to two different values. */
class Settings {
  defaultEffect?: 'allow' | 'deny';
  mode?: 'enforce' | 'shadow';
  private readonly where: Record<string, string> = {};

  constructor(private readonly problems: Problem[]) {}

  add(parsed: ParsedFile, settings: { default?: 'allow' | 'deny'; mode?: 'enforce' | 'shadow' }): void {
    this.set(
      parsed,
      'default',
      settings.default,
      (v) => (this.defaultEffect = v as 'allow' | 'deny'),
      this.defaultEffect,
    );
    this.set(parsed, 'mode', settings.mode, (v) => (this.mode = v as 'enforce' | 'shadow'), this.mode);
  }

  private set(
    parsed: ParsedFile,
    key: string,
    value: string | undefined,
    assign: (v: string) => void,
    current: string | undefined,
  ): void {
    if (value === undefined) return;
    const offset = parsed.locate([key]);
    const { line, col } = parsed.source.position(offset);
    if (current === undefined) {
      assign(value);
      this.where[key] = `${parsed.source.file}:${line}:${col}`;
    } else if (current !== value) {
      this.problems.push(
        parsed.source.problem(offset, `${key} is ${value} here but ${current} at ${this.where[key]}`),
      );
    }
  }
}

/**
 * One set of files has one version, wherever the folder is and however it is named on a command
 * line: the files' own names and content, the vars (none given counts as none configured) and the
 * limits. `gatehouse policy check --config` therefore prints the version a running Gatehouse reports.
 */
function digest(sources: readonly PolicySource[], options: CompileOptions): string {
  const hash = createHash('sha256');
  for (const source of sources) {
    const name = path.basename(source.file);
    hash.update(`${name.length}:${name}${source.text.length}:${source.text}`);
  }
  hash.update(canonicalJson({ vars: options.vars ?? {}, limits: options.limits }));
  return `sha256:${hash.digest('hex').slice(0, 16)}`;
}

/** JSON with sorted keys: the same vars give the same version whatever their order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
