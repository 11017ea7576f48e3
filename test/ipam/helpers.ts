// Small things the ipam tests share.
import { join } from 'node:path';
import type { Test } from 'tap';
import { Allocator, Pool } from '../../src/ipam/index.js';

export function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

/** A fresh allocator in the test's own directory, closed when the test ends. */
export function fresh(t: Test, range: string, file = 'leases.db'): { a: Allocator; path: string; dir: string } {
  const dir = t.testdir();
  const path = join(dir, file);
  const a = Allocator.open(path, Pool.parse(range));
  t.teardown(() => a.close());
  return { a, path, dir };
}

export const MAC = '00:16:3e:00:00:01';
