import { RE2JS } from 're2js';

/**
 * CEL's `matches` on RE2 (re2js): linear time whatever the input, so a policy regex such as `(a+)+$`
 * cannot be turned against Gatehouse by a crafted argument. CEL's `matches` is a search, not a full
 * match: `"abc".matches("b")` is true; anchor with `^…$` for a whole-string test.
 */

export function compileRe2Pattern(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    const detail =
      error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    throw new Error(`${JSON.stringify(pattern)} is not valid RE2: ${detail}`, { cause: error });
  }
}

/** Patterns computed at run time longer than this are refused: compile time grows with the pattern. */
export const MAX_DYNAMIC_PATTERN = 4096;
const DYNAMIC_CACHE_SIZE = 256;

/**
 * Compiled patterns (regexes, globs). Literal patterns are compiled when the policy loads: compiling
 * costs tens of microseconds, and a pattern that cannot run is a load error there, with its location.
 * Patterns computed at run time (from `vars` or arguments) go through a small bounded cache.
 */
export class PatternCache<T> {
  private readonly literals = new Map<string, T>();
  private readonly dynamic = new Map<string, T>();

  constructor(
    readonly kind: string,
    private readonly compile: (pattern: string) => T,
  ) {}

  /** Compiles a pattern known at load time; throws a message naming the fault when it cannot run. */
  addLiteral(pattern: string): void {
    if (!this.literals.has(pattern)) this.literals.set(pattern, this.compileNamed(pattern));
  }

  get(pattern: string): T {
    const known = this.literals.get(pattern) ?? this.dynamic.get(pattern);
    if (known !== undefined) return known;
    if (pattern.length > MAX_DYNAMIC_PATTERN) {
      throw new Error(`a ${this.kind} computed at run time is longer than ${MAX_DYNAMIC_PATTERN} characters`);
    }
    const compiled = this.compileNamed(pattern);
    if (this.dynamic.size >= DYNAMIC_CACHE_SIZE) this.dynamic.delete(this.dynamic.keys().next().value!);
    this.dynamic.set(pattern, compiled);
    return compiled;
  }

  /** Errors name the kind: `regular expression "(?=x)" is not valid RE2: …`. */
  private compileNamed(pattern: string): T {
    try {
      return this.compile(pattern);
    } catch (error) {
      throw new Error(`${this.kind} ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }
}
