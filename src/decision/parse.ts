import { isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Scalar } from 'yaml';
import type { z } from 'zod';
import { SourceText, type Problem } from './problems.js';
import { PolicyFileSchema, RuleSchema, type PolicyFileInput, type RuleInput } from './schema.js';
import { isObject } from '../shared/json.js';

/**
 * Reads one policy file (YAML, or JSON, which YAML reads too) into validated input, keeping the
 * location of every node so later stages can point at the fault.
 */

export interface ParsedRule {
  index: number;
  input: RuleInput;
  /** Offset of the rule's mapping in the file. */
  offset: number;
}

export interface ParsedFile {
  source: SourceText;
  /** Top-level settings; undefined when the file is unreadable as a policy file. */
  settings?: Omit<PolicyFileInput, 'rules'>;
  rules: ParsedRule[];
  problems: Problem[];
  /** Offset of the node at `path`, or of its closest existing ancestor. */
  locate(path: readonly PropertyKey[]): number;
  /** File offset of character `offset` of the rule's `when` expression. */
  expressionOffset(ruleIndex: number, offset: number): number;
}

type Path = readonly PropertyKey[];

/** The top-level settings; rules are validated one by one so one bad rule does not hide the others. */
const HeaderSchema = PolicyFileSchema.omit({ rules: true });

/** A YAML (or JSON) file read with node locations; `data` is undefined when the syntax is broken. */
export interface YamlFile {
  source: SourceText;
  doc: Document;
  data?: unknown;
  problems: Problem[];
}

export function readYaml(file: string, text: string): YamlFile {
  const source = new SourceText(file, text);
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true });
  const problems = doc.errors.map((error) =>
    source.problem(error.pos[0], `YAML: ${firstLine(error.message)}`),
  );
  if (problems.length > 0) return { source, doc, problems };
  return { source, doc, data: doc.toJS({ maxAliasCount: 100 }) as unknown, problems };
}

export function parsePolicyFile(file: string, text: string): ParsedFile {
  const { source, doc, data, problems } = readYaml(file, text);
  const parsed: ParsedFile = {
    source,
    rules: [],
    problems,
    locate: (path) => locate(doc, path),
    expressionOffset: (ruleIndex, offset) => expressionOffset(doc, text, ruleIndex, offset),
  };
  if (problems.length > 0) return parsed;
  // An empty file is what a writer leaves between truncating and writing: taking it as "no rules"
  // would drop the rules it is about to hold. A file that means no rules says `rules: []`.
  if (data === null || data === undefined) {
    parsed.problems.push(
      source.problem(
        0,
        'the file holds no policy document (it is empty, or only comments); a file with no rules says `rules: []`',
      ),
    );
    return parsed;
  }
  const { rules: rawRules, ...rest } = isObject(data) ? data : { rules: undefined };
  const header = HeaderSchema.safeParse(isObject(data) ? rest : data);
  if (!header.success) {
    parsed.problems.push(...issuesToProblems(doc, source, header.error.issues, []));
    if (!isObject(data)) return parsed;
  } else {
    parsed.settings = header.data;
  }

  if (rawRules === undefined || rawRules === null) return parsed;
  if (!Array.isArray(rawRules)) {
    parsed.problems.push(source.problem(locate(doc, ['rules']), 'rules must be a list of rules'));
    return parsed;
  }
  rawRules.forEach((raw, index) => {
    const path = ['rules', index];
    const result = RuleSchema.safeParse(raw);
    if (result.success) parsed.rules.push({ index, input: result.data, offset: locate(doc, path) });
    else parsed.problems.push(...issuesToProblems(doc, source, result.error.issues, path, ruleIdOf(raw)));
  });
  return parsed;
}

function issuesToProblems(
  doc: Document,
  source: SourceText,
  issues: readonly z.core.$ZodIssue[],
  prefix: Path,
  rule?: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const offset = keyOffset(doc, path, key) ?? locate(doc, path);
        problems.push(source.problem(offset, `unknown key "${key}"${suggest(key, knownKeys(path))}`, rule));
      }
      continue;
    }
    problems.push(source.problem(locate(doc, path), describeIssue(issue, path, valueAt(doc, path)), rule));
  }
  return problems;
}

/** Messages that name the field and the offending value, in the author's terms. */
function describeIssue(issue: z.core.$ZodIssue, path: Path, value: unknown): string {
  const field = fieldName(path);
  const shown = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `${field} is required`;
      return `${field} must be ${article(issue.expected)}${shown}`;
    case 'invalid_value':
      return `${field} must be one of ${issue.values.map(String).join(', ')}${shown}`;
    case 'invalid_format':
      if (field === 'id')
        return `rule id ${JSON.stringify(value)} may only contain letters, digits and _ . : / -`;
      if (path.includes('approvers'))
        return `approver ${JSON.stringify(value)} must be a user id or group:<name>`;
      return `${field} has the wrong format${shown}`;
    case 'too_small':
      return issue.origin === 'number'
        ? `${field} must be at least ${String(issue.minimum)}${shown}`
        : `${field} must not be empty`;
    case 'custom':
      if (field === 'ttl')
        return `ttl ${JSON.stringify(value)} is not a duration: write e.g. 90s, 30m, 2h or 1d`;
      if (field === 'when') return 'when must not be blank';
      return issue.message;
    case 'invalid_union':
      return `${field} must be a glob or a list of globs${shown}`;
    default:
      return `${field}: ${issue.message}`;
  }
}

function article(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object') return 'a mapping';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function fieldName(path: Path): string {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return String(path[i]);
  return 'the file';
}

function knownKeys(path: Path): string[] {
  if (path.length === 0) return Object.keys(PolicyFileSchema.shape);
  if (path.at(-1) === 'match') return ['servers', 'tools'];
  return Object.keys(RuleSchema.shape);
}

/** ` (did you mean "when"?)` for a near miss; nothing otherwise. */
function suggest(key: string, known: string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function ruleIdOf(raw: unknown): string | undefined {
  return isObject(raw) && typeof raw.id === 'string' ? raw.id : undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function nodeAt(doc: Document, path: Path): { node: Node | null; depth: number } {
  let node: unknown = doc.contents;
  let depth = 0;
  for (const key of path) {
    let next: unknown;
    if (isMap(node)) next = node.get(key, true);
    else if (isSeq(node) && typeof key === 'number') next = node.get(key, true);
    if (next === undefined || next === null) break;
    node = next;
    depth++;
  }
  return { node: (node ?? null) as Node | null, depth };
}

export function locate(doc: Document, path: Path): number {
  return nodeAt(doc, path).node?.range?.[0] ?? 0;
}

function valueAt(doc: Document, path: Path): unknown {
  const { node, depth } = nodeAt(doc, path);
  if (depth !== path.length || !node) return undefined;
  return isScalar(node) ? node.value : node.toJSON();
}

function keyOffset(doc: Document, path: Path, key: string): number | undefined {
  const { node, depth } = nodeAt(doc, path);
  if (depth !== path.length || !isMap(node)) return undefined;
  const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
  return pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
}

/**
 * Aligns the expression (the scalar's value) with its source text, character by character, so an
 * offset reported by CEL lands on the same character in the file, whatever the scalar style.
 */
function expressionOffset(doc: Document, text: string, ruleIndex: number, offset: number): number {
  const { node, depth } = nodeAt(doc, ['rules', ruleIndex, 'when']);
  if (depth !== 3 || !isScalar(node) || !node.range) return locate(doc, ['rules', ruleIndex]);
  const scalar = node as Scalar;
  const value = String(scalar.value);
  const [start, end] = scalar.range!;
  let j = start;
  if (scalar.type === 'BLOCK_LITERAL' || scalar.type === 'BLOCK_FOLDED') j = text.indexOf('\n', start) + 1;
  else if (scalar.type === 'QUOTE_DOUBLE' || scalar.type === 'QUOTE_SINGLE') j = start + 1;
  const target = Math.min(offset, value.length);
  for (let i = 0; i < target; i++) {
    const c = value[i]!;
    if (/\s/.test(c)) {
      while (j < end && /\s/.test(text[j]!)) j++;
      continue;
    }
    const k = text.indexOf(c, j);
    if (k < 0 || k >= end) return start;
    j = k + 1;
  }
  // Land on the target character itself, past any folding whitespace or escapes before it.
  const c = value[target];
  if (c === undefined || /\s/.test(c)) return j;
  const k = text.indexOf(c, j);
  return k < 0 || k >= end ? j : k;
}
