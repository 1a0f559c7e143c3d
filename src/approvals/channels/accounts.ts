/**
 * One channel account is one person: directory entries that give the same account (a Teams object id,
 * a Slack member id) to two people would let a click count as whichever comes first. For the config
 * check of `approvers.directory`, with the index of each later entry and a message naming the first.
 */
export function accountConflicts<P extends { id: string }>(
  directory: readonly P[],
  /** The account's key, the same however it is spelt (case-folded where the service ignores case). */
  keyOf: (person: P) => string | undefined,
  what: string,
): { index: number; message: string }[] {
  const seen = new Map<string, string>();
  const conflicts: { index: number; message: string }[] = [];
  directory.forEach((person, index) => {
    const key = keyOf(person);
    if (key === undefined) return;
    const owner = seen.get(key);
    if (owner !== undefined && owner !== person.id) {
      conflicts.push({
        index,
        message: `this ${what} account is also "${owner}"'s: one account is one approver`,
      });
    } else seen.set(key, person.id);
  });
  return conflicts;
}
