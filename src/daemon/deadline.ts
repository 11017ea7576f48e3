/**
 * The one bounded wait: `p`'s outcome, or `onTimeout()`'s if `ms` pass first.
 * The timer never outlives the race, so a settled wait keeps no process alive.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Waits for every promise to settle, or `ms`; true when all settled in time. */
export function settleWithin(promises: Iterable<Promise<unknown>>, ms: number): Promise<boolean> {
  return withDeadline(
    Promise.allSettled([...promises]).then(() => true),
    ms,
    () => false,
  );
}
