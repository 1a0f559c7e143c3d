import { GatehouseError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import { approversFor } from './candidates.js';
import type { PolicySet } from './compile.js';
import { evaluateCall, type Evaluation } from './evaluate.js';
import { compileRead, POLICY_FILE, readPolicyFolder, sameRead, type FolderRead } from './load.js';
import { PolicyReloadSchema, type PolicyLimits } from './options.js';
import { formatProblems, type Problem } from './problems.js';
import type { Decision, DecisionPoint, ToolVisibility } from './types.js';
import { visibilityOf } from './visibility.js';
import { watchFolder, type FolderWatch } from './watch.js';

/**
 * The decision point the proxy holds: the current compiled set, swapped atomically when the folder
 * changes and the new set compiles. A set that fails to load is never used.
 */

export interface PolicyEngineOptions {
  dir: string;
  vars: Record<string, unknown>;
  limits: PolicyLimits;
  /** The configured channel names (see CompileOptions.channels). */
  channels?: ReadonlySet<string>;
  /** The credential names the servers define (see CompileOptions.credentials). */
  credentials?: ReadonlySet<string>;
  logger?: Logger;
  /** Reload when a policy file changes. */
  watch?: boolean;
  /** How long the folder must be quiet, and its content unchanged, before a change is loaded. */
  settleMs?: number;
}

export interface PolicyStatus {
  version: string;
  loadedAt: string;
  files: string[];
  /** The last failed reload's problems; cleared by the next good load. */
  lastError?: string;
}

export interface PolicyEngine extends DecisionPoint {
  readonly version: string;
  decide(call: ToolCall, now?: Date): Decision;
  /** The decision and every rule considered, for `--explain` and `policy test`. */
  explain(call: ToolCall, now?: Date): Evaluation;
  visibility(tool: Pick<ToolCall, 'server' | 'tool' | 'exposedName' | 'definition'>): ToolVisibility;
  status(): PolicyStatus;
  /** Reads the folder again; true when a new set is now in use. */
  reload(): Promise<boolean>;
  /** Called with the new version after each successful reload that changed the set. */
  onReload(listener: (version: string) => void): () => void;
  /** Called with the problems of each change that failed to load (the set in force stays). */
  onReloadFailed(listener: (error: string) => void): () => void;
  /** The set in force: its files and how many rules, for the record. */
  describe(): { version: string; files: string[]; rules: number };
  /** Who the approve rules that can apply to these tools name (`group:x`, ids), sorted. */
  approversFor(tools: readonly { server: string; tool: string }[]): string[];
  close(): Promise<void>;
}

export function policyInvalid(dir: string, problems: readonly Problem[]): GatehouseError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new GatehouseError(
    'POLICY_INVALID',
    `the policy set in ${dir} failed to load (${count}):\n${formatProblems(problems)}`,
    {
      problems,
    },
  );
}

export async function loadPolicyEngine(options: PolicyEngineOptions): Promise<PolicyEngine> {
  const logger = (options.logger ?? silentLogger).child({ module: 'policy' });
  const compileOptions = {
    vars: options.vars,
    limits: options.limits,
    ...(options.channels ? { channels: options.channels } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  let loaded = await readPolicyFolder(options.dir);
  const first = compileRead(loaded, compileOptions);
  if (!first.ok) throw policyInvalid(options.dir, first.problems);

  let current: PolicySet = first.set;
  let loadedAt = new Date();
  let lastError: string | undefined;
  const listeners = new Set<(version: string) => void>();
  const failureListeners = new Set<(error: string) => void>();
  const tell = <T>(targets: Set<(value: T) => void>, value: T) => {
    for (const listener of targets) {
      try {
        listener(value);
      } catch (error) {
        logger.error({ err: error }, 'policy reload listener failed');
      }
    }
  };
  logger.info(
    { version: current.version, files: current.files.length, rules: current.rules.length },
    'policy set loaded',
  );

  /** Swaps in a set that compiled and differs; keeps the last good one otherwise. */
  const apply = (read: FolderRead): boolean => {
    // The files of the set in force (again, after a failed change): nothing to compile.
    if (sameRead(read, loaded)) {
      lastError = undefined;
      return false;
    }
    const result = compileRead(read, compileOptions);
    if (!result.ok) {
      lastError = policyInvalid(options.dir, result.problems).message;
      logger.error(
        { problems: result.problems.length, error: lastError },
        'policy reload failed; keeping the last good set',
      );
      tell(failureListeners, lastError);
      return false;
    }
    lastError = undefined;
    loaded = read;
    if (result.set.version === current.version) return false;
    current = result.set;
    loadedAt = new Date();
    logger.info(
      { version: current.version, files: current.files.length, rules: current.rules.length },
      'policy set reloaded',
    );
    tell(listeners, current.version);
    return true;
  };
  // Reads finish in any order; loads are applied in the order they were asked for.
  let queue: Promise<boolean> = Promise.resolve(false);
  const reload = (): Promise<boolean> => {
    const read = readPolicyFolder(options.dir);
    queue = queue.then(async () => apply(await read));
    return queue;
  };

  let watch: FolderWatch | undefined;
  if (options.watch) {
    watch = watchFolder({
      dir: options.dir,
      settleMs: options.settleMs ?? PolicyReloadSchema.parse({}).settleMs,
      read: () => readPolicyFolder(options.dir),
      same: sameRead,
      // Policy files, and the `..data` symlink a Kubernetes ConfigMap volume swaps; an editor's swap
      // file or a log written beside the policies must not keep the folder from ever settling.
      relevant: (name) => name === null || POLICY_FILE.test(name) || name.startsWith('..'),
      apply: (read) => void (queue = queue.then(() => apply(read))),
      onWatchError: (error) => {
        lastError = `watching ${options.dir} failed: ${error.message}`;
        logger.error({ err: error }, 'policy folder watch failed; changes are no longer picked up');
      },
    });
    // A file written between the first read and the start of the watch would go unseen until the
    // next change: look once more, with the same settling as any change.
    watch.changed();
  }

  return {
    get version() {
      return current.version;
    },
    decide: (call, now = new Date()) => evaluateCall(current, call, now).decision,
    explain: (call, now = new Date()) => evaluateCall(current, call, now, true),
    visibility: (tool) => visibilityOf(current, tool),
    status: () => ({
      version: current.version,
      loadedAt: loadedAt.toISOString(),
      files: [...current.files],
      ...(lastError === undefined ? {} : { lastError }),
    }),
    reload,
    onReload(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onReloadFailed(listener) {
      failureListeners.add(listener);
      return () => failureListeners.delete(listener);
    },
    describe: () => ({ version: current.version, files: [...current.files], rules: current.rules.length }),
    approversFor: (tools) => approversFor(current, tools),
    async close() {
      await watch?.close();
      await queue;
    },
  };
}
