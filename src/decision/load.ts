import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { compilePolicySet, type CompileOptions, type CompileResult, type PolicySource } from './compile.js';

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

/** Reads and compiles a folder; an unreadable folder is a problem like any other. */
export async function loadPolicySet(dir: string, options: CompileOptions): Promise<CompileResult> {
  let sources: PolicySource[];
  try {
    sources = await readPolicySources(dir);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'does not exist'
        : `cannot be read: ${(error as Error).message}`;
    return { ok: false, problems: [{ file: dir, line: 1, col: 1, message: `the policy folder ${reason}` }] };
  }
  if (sources.length === 0) {
    return {
      ok: false,
      problems: [
        { file: dir, line: 1, col: 1, message: 'the policy folder holds no *.yaml, *.yml or *.json file' },
      ],
    };
  }
  return compilePolicySet(sources, options);
}
