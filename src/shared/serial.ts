/**
 * Runs async tasks one at a time, in the order they were submitted. A failed task does not stop the
 * ones after it; its caller gets the error.
 */
export function serial(): <T>(task: () => Promise<T> | T) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}
