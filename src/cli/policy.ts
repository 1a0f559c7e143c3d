import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CallInputSchema, toToolCall } from '../decision/callInput.js';
import { compilePolicySet, type CompileResult } from '../decision/compile.js';
import { evaluateCall } from '../decision/evaluate.js';
import { decisionJson, explainEvaluation } from '../decision/explain.js';
import { readPolicySources } from '../decision/load.js';
import { PolicyLimitsSchema } from '../decision/options.js';
import { runPolicyTestFile } from '../decision/policyTests.js';
import { formatProblems } from '../decision/problems.js';
import { channelNames } from '../approvals/channels/config.js';
import { credentialNames } from '../credentials/broker.js';
import { loadConfig } from '../config/load.js';

/**
 * `gatehouse policy check | eval | test`: load and type-check a policy folder, decide one call, and
 * run YAML test cases. Each command is an exported function resolving to its exit code, so tests call
 * them without a shell: 0 fine, 2 for what Gatehouse itself would refuse to start with or cannot read
 * (a policy set that does not load, an unusable call, vars or test file, a bad command line), 1 for test
 * cases that ran and failed.
 */

export interface PolicyIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface PolicyFolderFlags {
  /** Default: the config's `policies` with `--config`, else `./policies`. */
  policies?: string;
  /** A JSON or YAML file of vars, as in the config's `vars`: `vars.x` references are checked against it. */
  vars?: string;
  /**
   * A Gatehouse config: its policy folder, vars and policy limits, so the version printed is the one
   * the running Gatehouse reports for the same files.
   */
  config?: string;
}

const DEFAULT_POLICIES = './policies';
const limits = PolicyLimitsSchema.parse({});
const CONFIG_HELP = "Gatehouse config: use its policies folder, vars and policyLimits (the server's version)";

export function registerPolicyCommands(program: Command, io: PolicyIo): void {
  const policy = program.command('policy').description('check, evaluate and test policy files');
  const setExit = (code: number): void => {
    process.exitCode = code;
  };

  policy
    .command('check')
    .description('load and type-check the policy files; list every problem (exit 2)')
    .option('--policies <dir>', `policy folder (default: ${DEFAULT_POLICIES})`)
    .option('--vars <file>', 'JSON or YAML file of vars to check vars.* references against')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (flags: PolicyFolderFlags) => setExit(await policyCheck(flags, io)));

  policy
    .command('eval')
    .description('decide one call and print the decision as JSON')
    .option('--policies <dir>', `policy folder (default: ${DEFAULT_POLICIES})`)
    .requiredOption('--call <file>', 'JSON file: {"server", "tool", "arguments", "caller": {"id", "groups"}}')
    .option('--vars <file>', 'JSON or YAML file of vars, as in the config')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--explain', 'also list every rule considered and why it matched or not')
    .action(async (flags: PolicyEvalFlags) => setExit(await policyEval(flags, io)));

  policy
    .command('test')
    .description('run YAML policy test cases; exit 1 on any failure')
    .argument('<cases...>', 'test case files, or folders of them')
    .option('--policies <dir>', 'policy folder', DEFAULT_POLICIES)
    .option('--verbose', 'list every case that passed too, with where it is written')
    .action(async (cases: string[], flags: { policies: string; verbose?: boolean }) =>
      setExit(await policyTest({ ...flags, cases }, io)),
    );
}

export async function policyCheck(flags: PolicyFolderFlags, io: PolicyIo): Promise<number> {
  const folder = await compileFolder(flags, io);
  if (!folder) return 2;
  const { compiled } = folder;
  if (!compiled.ok) {
    io.err(formatProblems(compiled.problems));
    io.err(`${compiled.problems.length} problem(s) in ${folder.dir}`);
    return 2;
  }
  const { set } = compiled;
  io.out(
    `ok: ${set.rules.length} rule(s) in ${set.files.length} file(s), default ${set.defaultEffect}, mode ${set.mode}, version ${set.version}`,
  );
  return 0;
}

export interface PolicyEvalFlags extends PolicyFolderFlags {
  call: string;
  explain?: boolean;
}

export async function policyEval(flags: PolicyEvalFlags, io: PolicyIo): Promise<number> {
  let input;
  try {
    input = CallInputSchema.safeParse(JSON.parse(await readFile(flags.call, 'utf8')));
  } catch (error) {
    io.err(`${flags.call}: ${(error as Error).message}`);
    return 2;
  }
  if (!input.success) {
    io.err(
      input.error.issues.map((i) => `${flags.call}: ${i.path.join('.') || 'call'}: ${i.message}`).join('\n'),
    );
    return 2;
  }
  const folder = await compileFolder(flags, io);
  if (!folder) return 2;
  const { compiled } = folder;
  if (!compiled.ok) {
    io.err(formatProblems(compiled.problems));
    return 2;
  }
  const { call, now } = toToolCall(input.data);
  const evaluation = evaluateCall(compiled.set, call, now, flags.explain === true);
  const output = decisionJson(evaluation.decision);
  if (flags.explain) output.explanation = explainEvaluation(compiled.set, call, evaluation);
  io.out(JSON.stringify(output, null, 2));
  return 0;
}

export async function policyTest(
  flags: { policies: string; cases: string[]; verbose?: boolean },
  io: PolicyIo,
): Promise<number> {
  let sources;
  let files: string[];
  try {
    sources = await readPolicySources(flags.policies);
    files = (await Promise.all(flags.cases.map(caseFiles))).flat();
  } catch (error) {
    io.err(`gatehouse policy test: ${(error as Error).message}`);
    return 2;
  }
  if (files.length === 0) {
    io.err('gatehouse policy test: no test case files (*.yaml, *.yml, *.json) given');
    return 2;
  }

  const cache = new Map<string, CompileResult>();
  let passed = 0;
  let failed = 0;
  let unusable = 0;
  for (const file of files) {
    const result = runPolicyTestFile(sources, file, await readFile(file, 'utf8'), limits, cache);
    if (result.problems.length > 0) {
      unusable++;
      io.err(`FAIL ${file}: cannot run\n${indent(formatProblems(result.problems), 2)}`);
      continue;
    }
    for (const testCase of result.cases) {
      if (testCase.failures.length === 0) {
        passed++;
        if (flags.verbose) io.out(`PASS ${testCase.name} (${testCase.at})`);
        continue;
      }
      failed++;
      io.err(
        [
          `FAIL ${testCase.name} (${testCase.at})`,
          ...testCase.failures.map((f) => `  ${f}`),
          '  rules considered:',
          ...testCase.explanation.map((l) => `    ${l}`),
        ].join('\n'),
      );
    }
  }
  // A file that cannot run counts as failed; the exit says its input is unusable, as `check` would.
  io.out(`${passed} passed, ${failed + unusable} failed`);
  return unusable > 0 ? 2 : failed > 0 ? 1 : 0;
}

/** undefined when the folder, the vars file or the config cannot be read (already reported). */
async function compileFolder(
  flags: PolicyFolderFlags,
  io: PolicyIo,
): Promise<{ dir: string; compiled: CompileResult } | undefined> {
  if (flags.config !== undefined && flags.vars !== undefined) {
    io.err('gatehouse policy: give --config or --vars, not both (the config has vars of its own)');
    return undefined;
  }
  try {
    const config = flags.config === undefined ? undefined : loadConfig(flags.config);
    const dir = flags.policies ?? config?.policies ?? DEFAULT_POLICIES;
    const vars =
      flags.vars === undefined ? config?.vars : readVars(flags.vars, await readFile(flags.vars, 'utf8'));
    const sources = await readPolicySources(dir);
    if (sources.length === 0) {
      io.err(`${dir}: no *.yaml, *.yml or *.json policy file`);
      return undefined;
    }
    // With a config, a rule's channels and credentials are checked against it, as the server would.
    const channels = config && channelNames(config.approvals.channels);
    const credentials = config && credentialNames(config.servers);
    const options = {
      vars,
      limits: config?.policyLimits ?? limits,
      ...(channels ? { channels } : {}),
      ...(credentials ? { credentials } : {}),
    };
    return { dir, compiled: compilePolicySet(sources, options) };
  } catch (error) {
    io.err(`gatehouse policy: ${(error as Error).message}`);
    return undefined;
  }
}

function readVars(file: string, text: string): Record<string, unknown> {
  const vars: unknown = parseYaml(text);
  if (typeof vars !== 'object' || vars === null || Array.isArray(vars))
    throw new Error(`${file}: vars must be a mapping`);
  return vars as Record<string, unknown>;
}

async function caseFiles(target: string): Promise<string[]> {
  if (!(await stat(target)).isDirectory()) return [target];
  const names = (await readdir(target)).filter((n) => /\.(?:ya?ml|json)$/i.test(n)).sort();
  return names.map((n) => path.join(target, n));
}

function indent(text: string, by: number): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(by) + l)
    .join('\n');
}
