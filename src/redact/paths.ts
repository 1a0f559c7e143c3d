/**
 * A small, exact subset of JSONPath (RFC 9535) naming argument values to redact:
 *
 *   $.a.b            member by name (letters, digits, `_`, non-ASCII; not starting with a digit)
 *   $['a b']         member by any name, in single or double quotes (escapes: \\ \' \" \/ \b \f \n \r \t \uXXXX)
 *   $.items[2]       array element by index (0 and up)
 *   $.items[*].token every member or element; also `.*`
 *   $..token         `token` at any depth below; also `..['a b']` and `..*`
 *
 * Filters, slices, unions, negative indices and functions are refused when the config is read: a
 * redaction rule that silently matched nothing would leak. Names are case-sensitive, as in JSONPath.
 * Written here rather than taken from a JSONPath library: the redactor matches paths during its one
 * walk over the arguments (a library evaluates one path at a time and returns values, not where they
 * sit), and the common library, jsonpath-plus, evaluates filter scripts and had remote code execution
 * advisories (CVE-2024-21534, CVE-2025-1302).
 */

export type PathStep =
  | { kind: 'member'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'descendant'; name: string | undefined };

export type ParsedPath = { ok: true; steps: PathStep[] } | { ok: false; problem: string };

const NAME_FIRST = /[A-Za-z_\u0080-\uffff]/;
const NAME_CHAR = /[A-Za-z0-9_\u0080-\uffff]/;
const ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const FORMS = "$.a.b, $['a b'], $.items[2], $.items[*].token, $..token";

/** The steps of `text`, or what is wrong with it and where (1-based column). */
export function parseJsonPath(text: string): ParsedPath {
  let at = 0;
  const steps: PathStep[] = [];
  const fail = (what: string, column = at + 1): ParsedPath => ({
    ok: false,
    problem: `${what} (column ${column}); supported forms: ${FORMS}`,
  });

  if (text[0] !== '$') return fail('a path starts with $', 1);
  at = 1;
  while (at < text.length) {
    const c = text[at]!;
    if (c === '.' && text[at + 1] === '.') {
      at += 2;
      if (text[at] === '*') {
        steps.push({ kind: 'descendant', name: undefined });
        at += 1;
      } else if (text[at] === '[') {
        const bracket = readBracket(text, at);
        if ('problem' in bracket) return fail(bracket.problem, bracket.column);
        if (bracket.step.kind === 'index') return fail('..[n] is not supported; name a member', at + 1);
        steps.push({
          kind: 'descendant',
          name: bracket.step.kind === 'member' ? bracket.step.name : undefined,
        });
        at = bracket.end;
      } else {
        const name = readName(text, at);
        if (name === undefined) return fail('expected a name, * or [ after ..');
        steps.push({ kind: 'descendant', name });
        at += name.length;
      }
    } else if (c === '.') {
      at += 1;
      if (text[at] === '*') {
        steps.push({ kind: 'wildcard' });
        at += 1;
        continue;
      }
      const name = readName(text, at);
      if (name === undefined) {
        const found = text[at];
        return fail(
          found === undefined
            ? 'the path ends after .'
            : `"${found}" cannot start a name after .; write such names in brackets: $['x-api-key']`,
        );
      }
      steps.push({ kind: 'member', name });
      at += name.length;
    } else if (c === '[') {
      const bracket = readBracket(text, at);
      if ('problem' in bracket) return fail(bracket.problem, bracket.column);
      steps.push(bracket.step);
      at = bracket.end;
    } else if (NAME_CHAR.test(c) || c === '-') {
      return fail(`unexpected "${c}"; names other than [A-Za-z0-9_] go in brackets: $['x-api-key']`);
    } else {
      return fail(`unexpected "${c}"`);
    }
  }
  if (steps.length === 0) return fail('$ alone names all the arguments; name a member', 1);
  return { ok: true, steps };
}

function readName(text: string, at: number): string | undefined {
  if (at >= text.length || !NAME_FIRST.test(text[at]!)) return undefined;
  let end = at + 1;
  while (end < text.length && NAME_CHAR.test(text[end]!)) end++;
  return text.slice(at, end);
}

type Bracket = { step: PathStep; end: number } | { problem: string; column: number };

/** `[...]` starting at `at` (the `[`): one quoted name, one index or `*`. */
function readBracket(text: string, at: number): Bracket {
  const open = at;
  at += 1;
  const c = text[at];
  let step: PathStep;
  if (c === "'" || c === '"') {
    const quoted = readQuoted(text, at);
    if ('problem' in quoted) return quoted;
    step = { kind: 'member', name: quoted.value };
    at = quoted.end;
  } else if (c === '*') {
    step = { kind: 'wildcard' };
    at += 1;
  } else if (c !== undefined && c >= '0' && c <= '9') {
    let end = at;
    while (end < text.length && text[end]! >= '0' && text[end]! <= '9') end++;
    const digits = text.slice(at, end);
    if (digits.length > 1 && digits[0] === '0')
      return { problem: `index ${digits} has a leading zero`, column: at + 1 };
    const index = Number(digits);
    if (!Number.isSafeInteger(index)) return { problem: `index ${digits} is too large`, column: at + 1 };
    step = { kind: 'index', index };
    at = end;
  } else if (c === '?') {
    return { problem: 'filter expressions [?...] are not supported', column: at + 1 };
  } else if (c === '-') {
    return { problem: 'negative indices are not supported', column: at + 1 };
  } else if (c === ':') {
    return { problem: 'slices [a:b] are not supported', column: at + 1 };
  } else {
    return { problem: `expected a quoted name, an index or * after [`, column: at + 1 };
  }
  if (text[at] === ',') return { problem: 'unions [a,b] are not supported', column: at + 1 };
  if (text[at] === ':') return { problem: 'slices [a:b] are not supported', column: at + 1 };
  if (text[at] !== ']') return { problem: `expected ] to close the [ at column ${open + 1}`, column: at + 1 };
  return { step, end: at + 1 };
}

function readQuoted(
  text: string,
  at: number,
): { value: string; end: number } | { problem: string; column: number } {
  const quote = text[at]!;
  let value = '';
  let i = at + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === quote) return { value, end: i + 1 };
    if (c === '\\') {
      const next = text[i + 1];
      if (next === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) {
        value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      const escaped = next === undefined ? undefined : ESCAPES[next];
      if (escaped === undefined) return { problem: `unknown escape \\${next ?? ''}`, column: i + 1 };
      value += escaped;
      i += 2;
      continue;
    }
    value += c;
    i += 1;
  }
  return { problem: `the quoted name has no closing ${quote}`, column: at + 1 };
}

/**
 * Where each path stands while the walk descends: `[path, step]` pairs. A pair whose step is past the
 * path's end names the current value; a descendant step stays live at every depth below.
 */
export type PathStates = readonly (readonly [number, number])[];

/**
 * The states after stepping into `key` (a member name or an array index) from `states`; `matched` when
 * a path ends here. Runs for every member while a path is live: plain loops, no allocation when no
 * path moves on.
 */
export function stepInto(
  paths: readonly (readonly PathStep[])[],
  states: PathStates,
  key: string | number,
): { states: PathStates; matched: boolean } {
  let next: [number, number][] | undefined;
  let matched = false;
  for (let i = 0; i < states.length; i++) {
    const [p, s] = states[i]!;
    const path = paths[p]!;
    const step = path[s]!;
    let advance: boolean;
    if (step.kind === 'member') advance = key === step.name;
    else if (step.kind === 'index') advance = key === step.index;
    else if (step.kind === 'wildcard') advance = true;
    else {
      // `..name` matches here, and keeps looking deeper for further `name`s.
      next = keep(next, p, s);
      advance = step.name === undefined || key === step.name;
    }
    if (!advance) continue;
    if (s + 1 === path.length) matched = true;
    else next = keep(next, p, s + 1);
  }
  return { states: next ?? NONE, matched };
}

const NONE: PathStates = [];

/** Adds the state once: two descendant steps (`$..a..b`) can reach one state twice. */
function keep(next: [number, number][] | undefined, p: number, s: number): [number, number][] {
  const list = next ?? [];
  for (const [q, t] of list) if (q === p && t === s) return list;
  list.push([p, s]);
  return list;
}
