// What every allocator test starts from.
import { join } from 'node:path';
import type { Test } from 'tap';
import { Allocator, Pool } from '../../src/ipam/index.js';

export const MAC = '00:16:3e:00:00:01';

/** A fresh allocator in the test's own directory, closed when the test ends. */
export function fresh(t: Test, range: string): { a: Allocator; path: string; dir: string } {
  const dir = t.testdir();
  const path = join(dir, 'leases.db');
  const a = Allocator.open(path, Pool.parse(range));
  t.teardown(() => a.close());
  return { a, path, dir };
}
