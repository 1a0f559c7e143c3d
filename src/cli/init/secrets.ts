import { findSecrets, replaceSpans, type Span } from '../../redact/detectors.js';
import { secretNameMatcher } from '../../redact/names.js';

/**
 * Moving secrets out of imported server definitions: each secret becomes a `${VAR}` reference in the
 * Gatehouse config and its value a line of the env file beside it. What counts as a secret is what
 * the redactor hides (src/redact): a value under a secret name (`API_KEY`, `Authorization`,
 * `--access-token`), or a secret shape anywhere in a string (a GitHub token, `Bearer …`, a URL's
 * password, `password=…`).
 */

export const isSecretName = secretNameMatcher([]);

/** `${NAME}` and `${NAME:-default}`: references Gatehouse expands, which are left as they are. */
const REFERENCE = /\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}/g;

/** Secrets by variable name; one value gets one name however often it appears. */
export interface Vault {
  /** The variable holding `value`, named after `hint` (made unique). */
  put(hint: string, value: string): string;
  readonly variables: Readonly<Record<string, string>>;
}

export function createVault(): Vault {
  const variables: Record<string, string> = {};
  const byValue = new Map<string, string>();
  return {
    variables,
    put(hint, value) {
      const known = byValue.get(value);
      if (known) return known;
      const base = variableName(hint);
      let name = base;
      for (let n = 2; name in variables; n++) name = `${base}_${n}`;
      variables[name] = value;
      byValue.set(value, name);
      return name;
    },
  };
}

/** The variable for `field` of server `server`: `SERVER_FIELD`, unless the field already starts so. */
export function secretVariable(server: string, field: string): string {
  const prefix = variableName(server);
  const name = variableName(field);
  return name.startsWith(`${prefix}_`) ? name : `${prefix}_${name}`;
}

/** `github token` → `GITHUB_TOKEN`: upper case, `_` between words, never starting with a digit. */
export function variableName(hint: string): string {
  const name = hint
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[A-Z_]/.test(name) ? name : `_${name}`;
}

/**
 * `value` with its secrets replaced by `${VAR}` references into `vault`: the secret parts a detector
 * finds, else the whole value when `field` (an env key, a header, the flag before an argument) names
 * a secret. Existing references stay. `hint` prefixes the variable names (the server's name).
 */
export function extractSecrets(value: string, hint: string, field: string | undefined, vault: Vault): string {
  const references = [...value.matchAll(REFERENCE)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
  }));
  const overlapsReference = (span: Span) => references.some((r) => span.start < r.end && r.start < span.end);
  const spans = findSecrets(value, isSecretName).filter((span) => !overlapsReference(span));
  if (spans.length > 0) {
    return replaceSpans(value, spans, (span) => {
      const name = vault.put(
        secretVariable(hint, spanHint(value, span, field)),
        value.slice(span.start, span.end),
      );
      return `\${${name}}`;
    });
  }
  if (field !== undefined && isSecretName(field) && value !== '' && references.length === 0) {
    return `\${${vault.put(secretVariable(hint, field), value)}}`;
  }
  return value;
}

/** What a span's variable is named after: `name` in `name=secret`, a URL's password, the field, the kind. */
function spanHint(text: string, span: Span, field: string | undefined): string {
  if (span.kind === 'named-secret') {
    const before = text.slice(Math.max(0, span.start - 80), span.start);
    return /([A-Za-z][\w.-]*)["']?\s*[=:]\s*["']?$/.exec(before)?.[1] ?? field ?? 'secret';
  }
  if (span.kind === 'url-password') return `${field ?? 'url'}_password`;
  return field ?? span.kind;
}

/** A `--flag` (or `-f`) that names a secret, so that the argument after it is one: `--api-key abc`. */
export function secretFlag(arg: string | undefined): string | undefined {
  const flag = /^--?([A-Za-z][\w-]*)$/.exec(arg ?? '')?.[1];
  return flag !== undefined && isSecretName(flag) ? flag : undefined;
}
