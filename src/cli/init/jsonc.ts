import { readFileSync } from 'node:fs';
import {
  applyEdits,
  findNodeAtLocation,
  format,
  modify,
  parseTree,
  parse,
  printParseErrorCode,
  type ParseErrorCode,
  type FormattingOptions,
  type ParseError,
} from 'jsonc-parser';
import { GatehouseError } from '../../errors.js';

/**
 * Client files as text: read as JSONC (VS Code's mcp.json allows comments and trailing commas; the
 * others are plain JSON, which JSONC includes) with `file:line:col` on a fault, and edited in place
 * with jsonc-parser, VS Code's own parser: only the edited members change, so comments, key order
 * and indentation elsewhere in the file stay as they were.
 */

export interface ClientText {
  file: string;
  text: string;
  value: unknown;
}

/** undefined when the file does not exist; throws CLIENT_CONFIG_INVALID when it cannot be read or parsed. */
export function readClientText(file: string): ClientText | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new GatehouseError('CLIENT_CONFIG_INVALID', `${file}: cannot read the file (${String(error)})`, {
      file,
    });
  }
  return { file, text, value: parseJsonc(text, file) };
}

export function parseJsonc(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  // A file that is empty or only whitespace is a client that has not written its config yet.
  if (text.trim() === '') return {};
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    throw new GatehouseError(
      'CLIENT_CONFIG_INVALID',
      `${file}:${position(text, first.offset)}: not valid JSON: ${describe(first.error)}`,
      { file },
    );
  }
  return value;
}

/** `line:col`, both from 1, of an offset. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** By the name printParseErrorCode gives each code (the codes are a const enum TypeScript cannot import here). */
const WORDS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'not a number',
  PropertyNameExpected: 'a property name in double quotes was expected',
  ValueExpected: 'a value was expected',
  ColonExpected: 'a colon was expected',
  CommaExpected: 'a comma was expected',
  CloseBraceExpected: 'a closing } was expected',
  CloseBracketExpected: 'a closing ] was expected',
  EndOfFileExpected: 'text after the end of the value',
  UnexpectedEndOfComment: 'the file ends inside a comment',
  UnexpectedEndOfString: 'the file ends inside a string',
  UnexpectedEndOfNumber: 'the file ends inside a number',
  InvalidUnicode: 'an invalid \\u escape',
  InvalidEscapeCharacter: 'an invalid escape',
  InvalidCharacter: 'a control character inside a string',
};

const describe = (code: ParseErrorCode) => WORDS[printParseErrorCode(code)] ?? printParseErrorCode(code);

/** A member to set (`value`) or remove (`undefined`), by its JSON path. */
export interface JsonEdit {
  path: string[];
  value: unknown;
}

/** The text with each edit applied in turn, formatted as the file already is. */
export function editJsonc(text: string, edits: readonly JsonEdit[]): string {
  const formattingOptions = formattingOf(text);
  let out = text.trim() === '' ? '{}' : text;
  for (const edit of edits) {
    out = edit.value === undefined ? removeMember(out, edit.path) : setMember(out, edit, formattingOptions);
  }
  return out;
}

/**
 * Sets a member (a new one first in its object), then formats only the text it wrote: jsonc-parser's
 * own formatting of an edit takes in whole lines and would reflow a neighbour and its comments.
 */
function setMember(text: string, edit: JsonEdit, options: FormattingOptions): string {
  let out = text;
  for (const change of modify(text, edit.path, edit.value, { getInsertionIndex: () => 0 })) {
    out = applyEdits(out, [change]);
    // From the token before the new text to the token after it, so the gaps at both ends are formatted.
    const start = Math.max(0, change.offset - 1);
    let end = change.offset + change.content.length;
    while (end < out.length && /\s/.test(out[end]!)) end++;
    out = applyEdits(
      out,
      format(out, { offset: start, length: end + 1 - start }, { ...options, keepLines: false }),
    );
  }
  return out;
}

/**
 * Removes a member with what belongs to it: the comment lines right above it and a comment after it on
 * its line; and the comma before it when it was the last member, so that plain JSON stays JSON.
 */
function removeMember(text: string, path: readonly string[]): string {
  const property = findNodeAtLocation(parseTree(text)!, [...path])?.parent;
  if (!property || property.type !== 'property') return text;
  const siblings = property.parent!.children!;
  const index = siblings.indexOf(property);
  let end = skipSpaces(text, property.offset + property.length);
  const hadComma = text[end] === ',';
  if (hadComma) end = skipSpaces(text, end + 1);
  if (text.startsWith('//', end)) end = lineEnd(text, end);
  let start = property.offset;
  const ownLine =
    /^[ \t]*$/.test(text.slice(lineStart(text, start), start)) && /^\r?\n/.test(text.slice(end));
  if (ownLine) {
    start = lineStart(text, start);
    // Comment lines directly above it are about it.
    for (
      let above = lineStart(text, start - 1);
      start > 0 && /^[ \t]*(?:\/\/|\/\*.*\*\/[ \t]*$)/.test(text.slice(above, start - 1));
      above = lineStart(text, above - 1)
    ) {
      start = above;
    }
    end = lineEnd(text, end) + 1;
  }
  let out = text.slice(0, start) + text.slice(end);
  const previous = siblings[index - 1];
  if (!hadComma && previous) {
    const comma = skipTrivia(out, previous.offset + previous.length);
    if (out[comma] === ',') out = out.slice(0, comma) + out.slice(comma + 1);
  }
  return out;
}

const lineStart = (text: string, at: number) => text.lastIndexOf('\n', at - 1) + 1;
const lineEnd = (text: string, at: number) => {
  const end = text.indexOf('\n', at);
  return end === -1 ? text.length : end;
};

function skipSpaces(text: string, at: number): number {
  while (text[at] === ' ' || text[at] === '\t') at++;
  return at;
}

/** Past whitespace and comments. */
function skipTrivia(text: string, at: number): number {
  for (;;) {
    while (at < text.length && /\s/.test(text[at]!)) at++;
    if (text.startsWith('//', at)) at = lineEnd(text, at);
    else if (text.startsWith('/*', at)) at = text.indexOf('*/', at + 2) + 2 || text.length;
    else return at;
  }
}

/** The indentation and line ends a file uses, so that inserted members look like their neighbours. */
function formattingOf(text: string): FormattingOptions {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indents = text
    .split(/\r?\n/)
    .map((line) => /^[ \t]+(?=\S)/.exec(line)?.[0])
    .filter((indent): indent is string => indent !== undefined);
  if (indents.some((indent) => indent.startsWith('\t'))) return { insertSpaces: false, tabSize: 1, eol };
  const tabSize = indents.length > 0 ? Math.min(...indents.map((indent) => indent.length)) : 2;
  return { insertSpaces: true, tabSize, eol };
}
