/**
 * POSIX path helpers for policies, so `/workspace/../etc/passwd` cannot slip past a prefix check.
 * They work on text only: symlinks, `~` and the server's working directory are unknown here, so a
 * relative path is never under an absolute folder. Write allow-lists (`isUnder(p, vars.workspace)`)
 * rather than block-lists over paths.
 */

/** A path with none of: `.` or `..` segments, `//`, a trailing `/`. Most paths: returned as they are. */
const NEEDS_WORK = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|.\/$|^$/;

/** Resolves `.`, `..` and repeated or trailing slashes. `..` above the root stays at the root. */
export function normalizePath(path: string): string {
  if (!NEEDS_WORK.test(path)) return path;
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length > 0 && parts.at(-1) !== '..') parts.pop();
      else if (!absolute) parts.push('..');
      continue;
    }
    parts.push(segment);
  }
  const joined = parts.join('/');
  if (absolute) return `/${joined}`;
  return joined === '' ? '.' : joined;
}

/** True when `path`, once normalised, is `dir` or inside it. Both must be absolute or both relative. */
export function isUnder(path: string, dir: string): boolean {
  const p = normalizePath(path);
  const d = normalizePath(dir);
  if (p.startsWith('/') !== d.startsWith('/')) return false;
  if (d === '/') return true;
  if (d === '.') return p !== '..' && !p.startsWith('../');
  return p === d || p.startsWith(`${d}/`);
}
