/**
 * JSON for a terminal or a file a person may `cat`: the same value as JSON.stringify gives, with the
 * characters JSON leaves raw but a terminal or an editor acts on (DEL and C1 controls such as CSI,
 * bidi controls, line and paragraph separators) written as \u escapes. Arguments and reasons are
 * attacker-controlled; an escape sequence in them must not reach the reader's terminal.
 */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function safeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    RAW_IN_JSON,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
