// Side-by-side measures in one run: each round runs every measure once, in
// an order that rotates, so drift on the machine (other work, a warming
// cache) hits all of them alike and none is always the one after another.

/** Runs every measure `rounds` times; each round starts with the next one in turn. Results per measure, in round order. */
export async function alternate<T>(measures: readonly (() => Promise<T>)[], rounds: number): Promise<T[][]> {
  const results = measures.map(() => [] as T[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < measures.length; k++) {
      const index = (round + k) % measures.length;
      results[index]?.push(await (measures[index] as () => Promise<T>)());
    }
  }
  return results;
}
