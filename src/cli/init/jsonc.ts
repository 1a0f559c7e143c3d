import { readFileSync } from 'node:fs';
import {
  applyEdits,
  modify,
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
    out = applyEdits(out, modify(out, edit.path, edit.value, { formattingOptions }));
  }
  return out;
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
