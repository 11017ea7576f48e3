// Small concurrency primitives for the model.

/** Serializes work per key: calls for one domain run one after the other. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  isBusy(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/**
 * A readers-writer gate: lifecycle calls change routes under the shared side,
 * the reconcile loop compares the kernel with the model under the exclusive
 * side, so it never sees a route that a call has added but not yet recorded.
 */
export class Gate {
  private readers = 0;
  private writer: Promise<void> | null = null;
  private waiters: Array<() => void> = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writer) await this.writer;
    this.readers++;
    try {
      return await fn();
    } finally {
      this.readers--;
      if (this.readers === 0) this.wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writer) await this.writer;
    let release!: () => void;
    this.writer = new Promise((r) => (release = r));
    try {
      while (this.readers > 0) await new Promise<void>((r) => this.waiters.push(r));
      return await fn();
    } finally {
      const done = release;
      this.writer = null;
      done();
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
