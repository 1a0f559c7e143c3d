/**
 * Credentials Gatehouse hands to downstream servers, known by value: wherever one of them (or its
 * base64 or URL-encoded form) turns up in text Gatehouse shows (a tool result, an error, a log line,
 * an audit record, a card, the page), it is replaced by `[REDACTED:credential]`. Detection by shape
 * (detectors.ts) cannot know a random token; this can, because Gatehouse minted it.
 *
 * Process-wide on purpose: the logger is built before any credential exists and must scrub every
 * credential minted later. Values are kept from minting until well after their call (a server may
 * echo a token into a later answer), bounded by count, static ones for the life of the process.
 */

export const CREDENTIAL_MARKER = '[REDACTED:credential]';

/** Shorter values cannot be scrubbed without mangling unrelated text; credentials are far longer. */
const MIN_VALUE_LENGTH = 6;
/** Encoded forms shorter than this are left alone (a base64 fragment of a short value is common text). */
const MIN_FORM_LENGTH = 8;
/** Minted values remembered after their call, most recent first out of the list last. */
const MAX_REMEMBERED = 256;

interface Entry {
  forms: readonly string[];
  hits: number;
  /** Kept for the life of the process (static secrets), else forgotten once MAX_REMEMBERED is passed. */
  pinned: boolean;
}

const entries = new Map<string, Entry>();
/** Replacements since the process started, whichever output they were in (for `status`). */
let totalHits = 0;
/** Every form of every entry, longest first, so a longer form is replaced before a shorter one inside it. */
let forms: { form: string; entry: Entry }[] = [];

/**
 * The value and the forms it travels in: base64 (standard and URL-safe, at each of the three byte
 * alignments it can take inside a longer encoded text, such as a Basic header or a JSON blob) and
 * URL encoding (component and form).
 */
export function credentialForms(value: string): string[] {
  const out = new Set<string>([value]);
  const bytes = Buffer.from(value, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes])
      .toString('base64')
      .replace(/=+$/, '');
    // Characters that also carry bits of the neighbouring bytes are not the value's own.
    const start = [0, 2, 3][shift]!;
    const end = (shift + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 1;
    const piece = encoded.slice(start, end);
    out.add(piece);
    out.add(piece.replaceAll('+', '-').replaceAll('/', '_'));
  }
  out.add(encodeURIComponent(value));
  out.add(encodeURIComponent(value).replaceAll('%20', '+'));
  return [...out].filter((f) => f === value || f.length >= MIN_FORM_LENGTH);
}

/** What a registration gives back: how often the value was scrubbed since it was registered. */
export interface KnownCredential {
  hits(): number;
}

/**
 * Make `value` known to the scrubber. `pinned`: kept for the life of the process (static secrets);
 * otherwise it joins the bounded list of recent credentials.
 */
export function rememberCredential(value: string, pinned = false): KnownCredential {
  if (value.length < MIN_VALUE_LENGTH) return { hits: () => 0 };
  const existing = entries.get(value);
  if (existing) {
    existing.pinned ||= pinned;
    // Most recent last: re-inserting moves it out of the way of the bound.
    entries.delete(value);
    entries.set(value, existing);
    const hitsBefore = existing.hits;
    return { hits: () => existing.hits - hitsBefore };
  }
  const entry: Entry = { forms: credentialForms(value), hits: 0, pinned };
  entries.set(value, entry);
  let unpinned = [...entries.values()].filter((e) => !e.pinned).length;
  for (const [key, e] of entries) {
    if (unpinned <= MAX_REMEMBERED) break;
    if (e.pinned) continue;
    entries.delete(key);
    unpinned--;
  }
  rebuild();
  return { hits: () => entry.hits };
}

function rebuild(): void {
  forms = [...entries.values()]
    .flatMap((entry) => entry.forms.map((form) => ({ form, entry })))
    .sort((a, b) => b.form.length - a.form.length);
}

/** Whether any credential is known: the hot paths skip the scan when none is. */
export function anyKnownCredential(): boolean {
  return forms.length > 0;
}

/** `text` with every known credential form replaced; `hits` counts the replacements. */
export function scrubCredentials(text: string): { text: string; hits: number } {
  let hits = 0;
  let out = text;
  for (const { form, entry } of forms) {
    if (!out.includes(form)) continue;
    const parts = out.split(form);
    const count = parts.length - 1;
    entry.hits += count;
    hits += count;
    totalHits += count;
    out = parts.join(CREDENTIAL_MARKER);
  }
  return { text: out, hits };
}

/**
 * Every string in a JSON value scrubbed (keys too); the value comes back as it was when nothing
 * matched, a copy otherwise.
 */
export function scrubCredentialsIn<T>(value: T): { value: T; hits: number } {
  if (!anyKnownCredential()) return { value, hits: 0 };
  let hits = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const scrubbed = scrubCredentials(v);
      hits += scrubbed.hits;
      return scrubbed.text;
    }
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      v.forEach((item, i) => {
        const next = walk(item);
        if (next !== item) (out ??= v.slice())[i] = next;
      });
      return out ?? v;
    }
    if (typeof v !== 'object' || v === null) return v;
    let out: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(v)) {
      const nextKey = walk(key) as string;
      const next = walk(item);
      if (next === item && nextKey === key) continue;
      out ??= { ...(v as Record<string, unknown>) };
      if (nextKey !== key) delete out[key];
      Object.defineProperty(out, nextKey, {
        value: next,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out ?? v;
  };
  const scrubbed = walk(value) as T;
  return { value: scrubbed, hits };
}

/** How many times a credential was scrubbed from anything since the process started. */
export function credentialsScrubbedTotal(): number {
  return totalHits;
}

/** For tests: forget every credential. */
export function forgetAllCredentials(): void {
  entries.clear();
  forms = [];
}
