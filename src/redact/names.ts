/**
 * Which field names hold secrets. Built-in names are compared after folding case and dropping `-`,
 * `_`, `.` and spaces, so `api_key`, `apiKey` and `X-API-Key` are one name; a name matches when it
 * ends with a built-in suffix (`dbPassword`, `githubToken`, `aws_secret_access_key`) or equals a
 * built-in exact name. Suffixes rather than substrings keep ordinary fields visible: `max_tokens`,
 * `tokenizer`, `secretName` and `passwordPolicy` are not secrets. Configured names
 * (`audit.redact.names`) match exactly, ignoring case only.
 */

/** A folded name ending with one of these holds a secret. */
export const SECRET_NAME_SUFFIXES: readonly string[] = [
  'password',
  'passwd',
  'passphrase',
  'passwordhash',
  'secret',
  'secretkey',
  'secretaccesskey',
  'token',
  'apikey',
  'accesskey',
  'accountkey',
  'sharedaccesskey',
  'privatekey',
  'credential',
  'credentials',
  'authorization',
  'cookie',
  'connectionstring',
  'sessionid',
  'xamzsignature',
  'xgoogsignature',
];

/** Folded names that hold a secret only as a whole word: as suffixes they would catch ordinary names. */
export const SECRET_NAME_EXACT: readonly string[] = ['auth', 'pwd', 'sig', 'otp'];

/** Folded names that end like a secret but are not one: pagination cursors, token counts. */
export const NOT_SECRET_NAMES: readonly string[] = [
  'pagetoken',
  'nextpagetoken',
  'nexttoken',
  'continuationtoken',
  'synctoken',
  'cursortoken',
];

const SUFFIXES = [...SECRET_NAME_SUFFIXES];
const EXACT = new Set(SECRET_NAME_EXACT);
const NOT_SECRET = new Set(NOT_SECRET_NAMES);
/** Names repeat from call to call: remember the answer for the first few thousand seen. */
const CACHE_LIMIT = 4096;

/** `dbPassword` → `dbpassword`, `X-API-Key` → `xapikey`. */
export function foldName(name: string): string {
  return name.toLowerCase().replace(/[-_. ]/g, '');
}

function isBuiltInSecretName(name: string): boolean {
  // Longer than any secret name in practice: a key this long is data, and folding it costs.
  if (name.length > 128) return false;
  const folded = foldName(name);
  if (EXACT.has(folded)) return true;
  if (NOT_SECRET.has(folded)) return false;
  for (const suffix of SUFFIXES) if (folded.endsWith(suffix)) return true;
  return false;
}

/** A predicate over field names: the built-in names plus `configured` (exact, any case). */
export function secretNameMatcher(configured: readonly string[]): (name: string) => boolean {
  const extra = new Set(configured.map((n) => n.toLowerCase()));
  const cache = new Map<string, boolean>();
  return (name) => {
    const known = cache.get(name);
    if (known !== undefined) return known;
    const secret = isBuiltInSecretName(name) || (extra.size > 0 && extra.has(name.toLowerCase()));
    if (cache.size < CACHE_LIMIT) cache.set(name, secret);
    return secret;
  };
}
