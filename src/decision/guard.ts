/**
 * A deadline for expressions that can run long, without a thread hop.
 *
 * cel-js has no cost limit. Outside comprehensions an expression's cost is linear in its size and
 * its (size-capped) input, so only comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`)
 * can run long: nested ones over large lists are quadratic or worse. compile.ts bounds their nesting
 * at load time, and `instrument` makes every comprehension check the clock when it starts and before
 * each step, and end its loop once the deadline has passed. A rule without comprehensions is never instrumented and pays nothing.
 *
 * This reaches into cel-js's checked AST (`handle`, `setMeta`), which is why the package is pinned
 * to an exact version; guard.test.ts fails if an upgrade changes that shape.
 */

export class DeadlineExceeded extends Error {
  override name = 'DeadlineExceeded';
}

let deadline = Number.POSITIVE_INFINITY;
let tripped: DeadlineExceeded | undefined;
let budgetMs = 0;

/** True once the running evaluation is past its deadline; cheap enough to ask on every step. */
function expired(): boolean {
  if (tripped) return true;
  if (performance.now() <= deadline) return false;
  tripped = new DeadlineExceeded(`evaluation exceeded the ${budgetMs} ms deadline`);
  return true;
}

export type Guarded<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs `fn` under a deadline. Evaluation is synchronous, so one module-level deadline is enough. A
 * run that hit the deadline fails even when CEL's error-absorbing `||` still produced a value.
 */
export function withDeadline<T>(ms: number, fn: () => T): Guarded<T> {
  budgetMs = ms;
  tripped = undefined;
  deadline = performance.now() + ms;
  try {
    const value = fn();
    return tripped ? { ok: false, error: tripped } : { ok: true, value };
  } catch (error) {
    return { ok: false, error: tripped ?? error };
  } finally {
    deadline = Number.POSITIVE_INFINITY;
    tripped = undefined;
  }
}

type Handle = (items: unknown, args: unknown, ev: unknown, ctx: unknown) => unknown;
type Evaluate = (ev: unknown, ast: unknown, ctx: unknown) => unknown;

interface CheckedNode {
  op: string;
  args: unknown;
  meta: Record<string, unknown>;
  handle?: Handle;
  setMeta(key: string, value: unknown): unknown;
}

function isNode(value: unknown): value is CheckedNode {
  return typeof value === 'object' && value !== null && 'op' in value && 'meta' in value;
}

/** Wraps every comprehension of a type-checked AST with deadline checks; returns how many. */
export function instrument(root: unknown): number {
  let count = 0;
  const seen = new Set<unknown>();
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (isNode(value)) {
      if (value.op === 'comprehension') {
        wrapComprehension(value);
        count++;
      }
      visit(value.args);
      visit(value.meta.alternate);
      visit(value.meta.macro);
      return;
    }
    // Plain objects: a comprehension's parts, a macro's state.
    if (Object.getPrototypeOf(value) === Object.prototype)
      for (const item of Object.values(value)) visit(item);
  };
  visit(root);
  return count;
}

function wrapComprehension(node: CheckedNode): void {
  const handle = node.handle;
  const parts = node.args as {
    step?: unknown;
    errorsAreFatal?: boolean;
    condition?: (accu: unknown) => boolean;
  };
  const step = parts.step;
  if (typeof handle !== 'function' || !isNode(step) || typeof step.meta.evaluate !== 'function') {
    throw new Error('cel-js changed the shape of comprehensions; the evaluation deadline cannot be enforced');
  }
  // `all` and `exists` absorb step errors and keep iterating (CEL's error semantics), so throwing
  // would still walk every remaining element. They get the value that ends their loop instead:
  // withDeadline fails the run whatever value comes out.
  const stop = parts.errorsAreFatal || !parts.condition ? undefined : stopValue(parts.condition);
  const bail = (): unknown => {
    if (stop === undefined) throw tripped;
    return stop;
  };
  node.handle = (items, args, ev, ctx) => (expired() ? bail() : handle(items, args, ev, ctx));
  const evaluate = step.meta.evaluate as Evaluate;
  step.setMeta('evaluate', (ev: unknown, ast: unknown, ctx: unknown) =>
    expired() ? bail() : evaluate(ev, ast, ctx),
  );
}

/** The accumulator value for which the loop's condition says stop: true for exists, false for all. */
function stopValue(condition: (accu: unknown) => boolean): boolean | undefined {
  if (!condition(true)) return true;
  if (!condition(false)) return false;
  return undefined;
}
