/**
 * `work` on every item, at most `width` at a time: a steady window (each finished item lets the next
 * one start), not batches that each wait for their slowest. Many requests at once over the loopback
 * overflow a listener's backlog; a window keeps the load high and bounded. Results in item order.
 */
export async function inParallel<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}
