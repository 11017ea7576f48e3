// Calls for one domain run one after another; calls for different domains
// run side by side, at most `limit` at once. A call waits for its domain's
// turn before it takes one of the shared slots, so a queue of calls for one
// busy domain never starves the others.

export class CallQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(readonly limit: number) {}

  /** Runs `fn` after earlier calls for `key` (if any) and within the shared limit. */
  run<T>(key: string | undefined, fn: () => Promise<T>): Promise<T> {
    if (key === undefined) return this.slot(fn);
    const prev = this.tails.get(key) ?? Promise.resolve();
    const mine = prev.then(() => this.slot(fn)); // tails never reject
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return mine;
  }

  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
