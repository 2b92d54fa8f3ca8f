// One-at-a-time work per key. Add-on writes check the cluster's other add-ons
// (dependencies, dependents) and then write; two writes interleaving between
// check and write could each pass and together close a cycle. Writes of one
// cluster therefore run in turn. This holds within one hub process; hubs
// sharing one database would need the check inside the store's transaction.

/** Runs the work given for one key in the order given, one at a time; keys are independent. */
export class KeyedQueue {
  /** The last work queued per key, settled either way; removed once it is the last and done. */
  readonly #tails = new Map<string, Promise<void>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(() => undefined, () => undefined);
    this.#tails.set(key, tail);
    // `tail` never rejects, and neither does this: it only forgets the key.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Keys with work queued or running (for tests: the map must not grow without bound). */
  get size(): number {
    return this.#tails.size;
  }
}
