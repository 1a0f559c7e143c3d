import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { compilePolicySet, type CompileOptions, type CompileResult, type PolicySource } from './compile.js';
import type { Problem } from './problems.js';

/** Policy files are the folder's own *.yaml, *.yml and *.json; subfolders (such as tests/) are not read. */
export const POLICY_FILE = /\.(?:ya?ml|json)$/i;

export async function readPolicySources(dir: string): Promise<PolicySource[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && POLICY_FILE.test(e.name))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      file: path.join(dir, name),
      text: await readFile(path.join(dir, name), 'utf8'),
    })),
  );
}

/** One read of a policy folder: its files, or why it cannot be used. */
export type FolderRead = { ok: true; sources: PolicySource[] } | { ok: false; problem: Problem };

/** Reads a folder; an unreadable or empty folder is a problem like any other. Never throws. */
export async function readPolicyFolder(dir: string): Promise<FolderRead> {
  const problem = (message: string): FolderRead => ({
    ok: false,
    problem: { file: dir, line: 1, col: 1, message },
  });
  let sources: PolicySource[];
  try {
    sources = await readPolicySources(dir);
  } catch (error) {
    return problem(
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'the policy folder does not exist'
        : `the policy folder cannot be read: ${(error as Error).message}`,
    );
  }
  if (sources.length === 0) return problem('the policy folder holds no *.yaml, *.yml or *.json file');
  return { ok: true, sources };
}

/** The same files with the same content (or the same reason they cannot be read). */
export function sameRead(a: FolderRead, b: FolderRead): boolean {
  if (!a.ok || !b.ok) return !a.ok && !b.ok && a.problem.message === b.problem.message;
  return (
    a.sources.length === b.sources.length &&
    a.sources.every((s, i) => s.file === b.sources[i]!.file && s.text === b.sources[i]!.text)
  );
}

export function compileRead(read: FolderRead, options: CompileOptions): CompileResult {
  return read.ok ? compilePolicySet(read.sources, options) : { ok: false, problems: [read.problem] };
}

/** Reads and compiles a folder. */
export async function loadPolicySet(dir: string, options: CompileOptions): Promise<CompileResult> {
  return compileRead(await readPolicyFolder(dir), options);
}
