import { RE2JS } from 're2js';

/**
 * Globs compiled to RE2, not to JavaScript RegExp: the text they test (paths in arguments) is
 * attacker-controlled, and a glob such as `*a*a*a*b` turned into a backtracking RegExp can stall the
 * event loop. RE2 answers in time linear in the text.
 *
 * Syntax: `*` any run of characters except `/`; `**` any run including `/` (as a whole segment,
 * `a/**` + `/b` also matches `a/b`); `?` one character except `/`; `[abc]`, `[a-z]`, `[!a]` or `[^a]`;
 * `{x,y}` alternatives (nestable); `\` escapes the next character. Dots are not special: `*` matches
 * `.env` too, which is what a rule guarding secrets wants.
 */

export class GlobSyntaxError extends Error {
  override name = 'GlobSyntaxError';
}

export function globToRegexSource(glob: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\') {
      if (i + 1 >= glob.length) throw new GlobSyntaxError(`"${glob}" ends with a lone \\`);
      out += RE2JS.quote(glob[++i]!);
    } else if (c === '*') {
      if (glob[i + 1] !== '*') {
        out += '[^/]*';
        continue;
      }
      i++;
      const wholeSegment = (i === 1 || glob[i - 2] === '/') && glob[i + 1] === '/';
      if (wholeSegment) {
        out += '(?:.*/)?';
        i++;
      } else {
        out += '.*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) throw new GlobSyntaxError(`"${glob}" has an unterminated [`);
      out += characterClass(glob.slice(i + 1, close));
      i = close;
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) {
      out += '|';
    } else {
      out += RE2JS.quote(c);
    }
  }
  if (braces > 0) throw new GlobSyntaxError(`"${glob}" has an unterminated {`);
  return out;
}

function characterClass(body: string): string {
  const negated = body.startsWith('!') || body.startsWith('^');
  const members = negated ? body.slice(1) : body;
  // Only `\`, `]`, `[` and `^` need escaping inside an RE2 class; `-` keeps its range meaning.
  const escaped = members.replace(/[\\\][^]/g, (m) => `\\${m}`);
  return `[${negated ? '^/' : ''}${escaped}]`;
}

/** One RE2 program for a list of globs: `^(?:g1|g2)$`, dot matching newlines. */
export function compileGlobs(globs: readonly string[]): RE2JS {
  const body = globs.map((g) => `(?:${globToRegexSource(g)})`).join('|');
  try {
    return RE2JS.compile(`^(?:${body})$`, RE2JS.DOTALL);
  } catch (error) {
    // A class such as [z-a] passes the translation and fails in RE2.
    const detail =
      error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    throw new GlobSyntaxError(
      `${globs.map((g) => JSON.stringify(g)).join(', ')} is not a valid glob: ${detail}`,
    );
  }
}

export function compileGlob(glob: string): RE2JS {
  return compileGlobs([glob]);
}
