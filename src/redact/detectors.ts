/**
 * Built-in detection of secret shapes in text, after gitleaks' rule set (the reference for prefixed
 * tokens) and secretlint's rules: a fixed list, each with positive and negative examples in
 * detectors.test.ts. Text is attacker-controlled, so every pattern runs in linear time: quantifiers
 * are bounded, no two adjacent quantified parts can match the same characters in more than one way,
 * and a pattern that could start inside a run of its own characters is anchored by a look-behind so
 * it starts only at the run's beginning. What cannot be written that way (PEM blocks, URLs, `name=`
 * assignments) is scanned by hand. Callers bound the text's length (`maxScanChars`).
 */

export const SECRET_KINDS = [
  'private-key',
  'aws-access-key',
  'aws-secret-key',
  'gcp-api-key',
  'github-token',
  'gitlab-token',
  'slack-token',
  'slack-webhook',
  'stripe-key',
  'npm-token',
  'anthropic-key',
  'openai-key',
  'jwt',
  'bearer',
  'basic-auth',
  'url-password',
  'named-secret',
] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

/** `[start, end)` of a secret in the text. */
export interface Span {
  start: number;
  end: number;
  kind: SecretKind;
}

interface Pattern {
  kind: SecretKind;
  /** Global, and with `d` when `group` is set. */
  re: RegExp;
  /** The capture group holding the secret; the whole match by default. */
  group?: number;
  /** A second look at a candidate: false drops it. */
  accept?: (secret: string) => boolean;
}

/** Longest value taken after `name=`, `name:` or inside quotes. */
const MAX_NAMED_VALUE = 4096;
/** How far from an AWS access key id its secret key is looked for. */
const AWS_SECRET_WINDOW = 256;

const PATTERNS: readonly Pattern[] = [
  // Access key ids (AKIA long-term, ASIA STS, ABIA, ACCA); the id names the key the secret unlocks.
  { kind: 'aws-access-key', re: /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b/g },
  { kind: 'gcp-api-key', re: /(?<![\w-])AIza[\w-]{35}(?![\w-])/g },
  {
    kind: 'github-token',
    re: /(?<!\w)(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_\w{36,244})(?!\w)/g,
  },
  { kind: 'gitlab-token', re: /(?<![\w-])glpat-[\w-]{20,200}/g },
  { kind: 'slack-token', re: /(?<![\w-])(?:xox[abeoprs]|xapp)-[A-Za-z0-9-]{10,250}/g },
  {
    kind: 'slack-webhook',
    re: /hooks\.slack\.com\/(?:services|workflows|triggers)\/([\w/+-]{20,250})/dg,
    group: 1,
  },
  { kind: 'stripe-key', re: /(?<!\w)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,250}/g },
  { kind: 'npm-token', re: /(?<!\w)npm_[A-Za-z0-9]{36}(?!\w)/g },
  { kind: 'anthropic-key', re: /(?<![\w-])sk-ant-[\w-]{20,250}/g },
  // Project, service-account and legacy keys all carry "T3BlbkFJ" (base64 of "OpenAI").
  { kind: 'openai-key', re: /(?<![\w-])sk-[\w-]{0,200}T3BlbkFJ[\w-]{10,200}/g },
  {
    kind: 'jwt',
    re: /(?<![\w-])eyJ[\w-]{6,4096}\.[\w-]{0,65536}\.[\w-]{0,8192}/g,
    accept: isJwt,
  },
  {
    kind: 'bearer',
    re: /\bbearer[ \t]{1,16}([\w~+/.-]{8,4096}=*)/dgi,
    group: 1,
    accept: (token) => token.length >= 20 || /[\d~+/.=-]/.test(token),
  },
  {
    kind: 'basic-auth',
    re: /\bbasic[ \t]{1,16}([A-Za-z0-9+/]{6,4096}={0,2})(?![\w+/=])/dgi,
    group: 1,
    accept: isBasicCredentials,
  },
];

/**
 * A literal every pattern above and the PEM scan starts with. Most strings (paths, prose, ids) have
 * none, and one scan for all of them is cheaper than one scan per pattern.
 */
const MAY_HOLD_TOKEN =
  /-----BEGIN|A(?:KIA|SIA|BIA|CCA|3T|Iza)|gh[pousr]_|github_pat_|glpat-|xox|xapp-|hooks\.slack|k_(?:live|test)_|npm_|sk-|eyJ|bearer|basic/i;

/** The JWS/JWT compact form: the first part decodes to a JSON header naming its algorithm. */
function isJwt(token: string): boolean {
  const header = token.slice(0, token.indexOf('.'));
  try {
    const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return (
      typeof parsed === 'object' && parsed !== null && typeof (parsed as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

/** `user:password` in base64, as HTTP Basic sends it; ordinary words after "basic" decode to noise. */
function isBasicCredentials(encoded: string): boolean {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  if (!decoded.includes(':')) return false;
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0xfffd) return false;
  }
  return true;
}

/** Every secret found in `text`, unsorted and possibly overlapping. */
export function findSecrets(text: string, isSecretName: (name: string) => boolean): Span[] {
  const spans: Span[] = [];
  if (MAY_HOLD_TOKEN.test(text)) findTokens(text, spans);
  findUrlPasswords(text, spans);
  if (text.includes('=') || text.includes(':')) findNamedValues(text, isSecretName, spans);
  return spans;
}

function findTokens(text: string, spans: Span[]): void {
  findPrivateKeys(text, spans);
  for (const pattern of PATTERNS) {
    pattern.re.lastIndex = 0;
    for (let m = pattern.re.exec(text); m !== null; m = pattern.re.exec(text)) {
      const [start, end] =
        pattern.group === undefined ? [m.index, m.index + m[0].length] : m.indices![pattern.group]!;
      const secret = text.slice(start, end);
      if (pattern.accept && !pattern.accept(pattern.kind === 'jwt' ? m[0] : secret)) continue;
      spans.push({ start, end, kind: pattern.kind });
    }
  }
  findAwsSecretKeys(text, spans);
}

/** `text` with each span replaced by `[REDACTED:<kind>]`; overlapping spans become one. */
export function applySpans(text: string, spans: Span[]): string {
  return replaceSpans(text, spans, (span) => marker(span.kind));
}

/** `text` with each span replaced by what `replacement` makes of it; overlapping spans become one. */
export function replaceSpans(text: string, spans: Span[], replacement: (span: Span) => string): string {
  if (spans.length === 0) return text;
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let at = 0;
  let current: Span | undefined;
  for (const span of spans) {
    if (current && span.start < current.end) {
      current.end = Math.max(current.end, span.end);
      continue;
    }
    if (current) {
      out += replacement(current);
      at = current.end;
    }
    out += text.slice(at, span.start);
    current = { ...span };
  }
  out += replacement(current!) + text.slice(current!.end);
  return out;
}

export const MARKER = '[REDACTED]';
export const marker = (kind: string): string => `[REDACTED:${kind}]`;

const PEM_BEGIN = /-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;

/** BEGIN to END, inclusive; a block without END is redacted to the end of the text. */
function findPrivateKeys(text: string, spans: Span[]): void {
  PEM_BEGIN.lastIndex = 0;
  for (let begin = PEM_BEGIN.exec(text); begin !== null; begin = PEM_BEGIN.exec(text)) {
    PEM_END.lastIndex = PEM_BEGIN.lastIndex;
    const end = PEM_END.exec(text);
    const stop = end ? PEM_END.lastIndex : text.length;
    spans.push({ start: begin.index, end: stop, kind: 'private-key' });
    PEM_BEGIN.lastIndex = stop;
  }
}

const AWS_SECRET = /(?<![\w+/])[A-Za-z0-9+/]{40}(?![\w+/=])/g;

/** A 40-character secret access key near an access key id, as credential files and exports have them. */
function findAwsSecretKeys(text: string, spans: Span[]): void {
  const ids = spans.filter((s) => s.kind === 'aws-access-key');
  let scanned = 0;
  for (const id of ids) {
    const from = Math.max(scanned, id.start - AWS_SECRET_WINDOW);
    const to = Math.min(text.length, id.end + AWS_SECRET_WINDOW);
    if (from >= to) continue;
    const window = text.slice(from, to);
    AWS_SECRET.lastIndex = 0;
    for (let m = AWS_SECRET.exec(window); m !== null; m = AWS_SECRET.exec(window)) {
      if (isAwsSecretKey(m[0]))
        spans.push({ start: from + m.index, end: from + m.index + 40, kind: 'aws-secret-key' });
    }
    scanned = to;
  }
}

/** Base64-like, with both letters and digits or symbols: not a word, not a hex digest alone. */
export function isAwsSecretKey(value: string): boolean {
  return /^[A-Za-z0-9+/]{40}$/.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value);
}

/** `scheme://user:password@host`: the password only; scheme, user and host stay. */
function findUrlPasswords(text: string, spans: Span[]): void {
  for (let at = text.indexOf('://'); at !== -1; at = text.indexOf('://', at + 3)) {
    // A scheme: a letter, then letters, digits, + . - (RFC 3986), right before ://.
    let s = at;
    while (s > 0 && at - s < 32 && isSchemeChar(text.charCodeAt(s - 1))) s--;
    if (s === at || !isLetter(text.charCodeAt(s))) continue;
    // userinfo ends at @; the host part ends at / ? # or whitespace first.
    let colon = -1;
    let i = at + 3;
    const limit = Math.min(text.length, i + 512);
    for (; i < limit; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x40 /* @ */ || isUrlStop(c)) break;
      if (c === 0x3a /* : */ && colon === -1) colon = i;
    }
    if (i < limit && text.charCodeAt(i) === 0x40 && colon !== -1 && i > colon + 1) {
      spans.push({ start: colon + 1, end: i, kind: 'url-password' });
    }
  }
}

const isLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isSchemeChar = (c: number) => isLetter(c) || isDigit(c) || c === 0x2b || c === 0x2e || c === 0x2d;
/** Characters that end a URL's authority or the URL: whitespace, quotes, <, >, `, \, / ? #. */
const isUrlStop = (c: number) =>
  c <= 0x20 ||
  c === 0x22 ||
  c === 0x27 ||
  c === 0x3c ||
  c === 0x3e ||
  c === 0x60 ||
  c === 0x5c ||
  c === 0x2f ||
  c === 0x3f ||
  c === 0x23;
const isNameChar = (c: number) => isLetter(c) || isDigit(c) || c === 0x5f || c === 0x2d || c === 0x2e;
const isSpace = (c: number) => c === 0x20 || c === 0x09;

/**
 * `password=…` (query strings, env files, connection strings such as `AccountKey=…;`), `password: …`
 * (headers, YAML, log text) and `"password": "…"` (JSON inside text), for every secret field name.
 */
function findNamedValues(text: string, isSecretName: (name: string) => boolean, spans: Span[]): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x3d /* = */ && c !== 0x3a /* : */) continue;
    const name = nameBefore(text, i);
    if (name === undefined || !isSecretName(name.name)) continue;
    // `'Authorization: token x'` in a shell command: the quote opened before the name closes the value.
    const before = name.start > 0 ? text.charCodeAt(name.start - 1) : -1;
    const opened = before === 0x22 || before === 0x27 ? before : -1;
    const value = valueAfter(text, i + 1, c === 0x3a, opened);
    if (value === undefined) continue;
    spans.push({ start: value.start, end: value.end, kind: 'named-secret' });
    i = Math.max(i, value.end - 1);
  }
}

/** The field name ending right before the separator at `at`: `name`, `"name"` or `'name'`, then spaces. */
function nameBefore(text: string, at: number): { name: string; start: number } | undefined {
  let j = at - 1;
  for (let n = 0; j >= 0 && isSpace(text.charCodeAt(j)) && n < 4; n++) j--;
  const quote = j >= 0 ? text.charCodeAt(j) : -1;
  const quoted = quote === 0x22 || quote === 0x27;
  if (quoted) j--;
  // `\"password\":` is JSON inside a JSON string: the quote is escaped.
  const escaped = quoted && j >= 0 && text.charCodeAt(j) === 0x5c;
  if (escaped) j--;
  const end = j + 1;
  while (j >= 0 && end - j <= 64 && isNameChar(text.charCodeAt(j))) j--;
  if (j + 1 === end || end - j > 64) return undefined;
  if (quoted && (j < 0 || text.charCodeAt(j) !== quote)) return undefined;
  return { name: text.slice(j + 1, end), start: j + 1 };
}

/**
 * The value after a separator: quoted (to its closing quote, backslash escapes skipped), else unquoted:
 * after `:` to the end of the line, a comma, a `}` or the `opened` quote (a header or YAML value may
 * hold spaces), after `=` to the next delimiter of query strings and connection strings.
 */
function valueAfter(
  text: string,
  from: number,
  colon: boolean,
  opened: number,
): { start: number; end: number } | undefined {
  let i = from;
  for (let n = 0; i < text.length && isSpace(text.charCodeAt(i)) && n < 4; n++) i++;
  if (i >= text.length) return undefined;
  const limit = Math.min(text.length, i + MAX_NAMED_VALUE);
  const q = text.charCodeAt(i);
  if (q === 0x22 || q === 0x27) {
    let j = i + 1;
    for (; j < limit && text.charCodeAt(j) !== q; j++) if (text.charCodeAt(j) === 0x5c) j++;
    const end = Math.min(j, limit);
    return end > i + 1 ? { start: i + 1, end } : undefined;
  }
  if (text.startsWith('\\"', i)) {
    const close = text.indexOf('\\"', i + 2);
    const end = close === -1 || close > limit ? limit : close;
    return end > i + 2 ? { start: i + 2, end } : undefined;
  }
  if (text.startsWith('[REDACTED', i)) return undefined;
  let j = i;
  for (; j < limit; j++) {
    const c = text.charCodeAt(j);
    if (colon ? c === opened || endsColonValue(c) : endsAssignedValue(c)) break;
  }
  return j > i ? { start: i, end: j } : undefined;
}

const endsColonValue = (c: number) => c === 0x0a || c === 0x0d || c === 0x22 || c === 0x2c || c === 0x7d;
const endsAssignedValue = (c: number) =>
  c <= 0x20 ||
  c === 0x26 /* & */ ||
  c === 0x3b /* ; */ ||
  c === 0x2c /* , */ ||
  c === 0x22 ||
  c === 0x27 ||
  c === 0x3c ||
  c === 0x3e ||
  c === 0x23 /* # */ ||
  c === 0x29 /* ) */ ||
  c === 0x5c; /* \ */
