import t from 'tap';
import { settleWithin, withDeadline } from '../../src/daemon/deadline.js';

t.test('withDeadline gives the promise its outcome when it settles first', async (t) => {
  t.equal(await withDeadline(Promise.resolve(7), 1000, () => 0), 7);
  await t.rejects(withDeadline(Promise.reject(new Error('boom')), 1000, () => 0), /boom/);
});

t.test('withDeadline gives onTimeout its say when the time runs out', async (t) => {
  const never = new Promise<number>(() => {});
  t.equal(await withDeadline(never, 5, () => 42), 42);
  await t.rejects(
    withDeadline(never, 5, () => {
      throw new Error('too slow');
    }),
    /too slow/,
  );
});

t.test('settleWithin says whether every promise settled in time', async (t) => {
  t.equal(await settleWithin([Promise.resolve(1), Promise.reject(new Error('x'))], 1000), true);
  t.equal(await settleWithin([new Promise(() => {})], 5), false);
  t.equal(await settleWithin(new Set<Promise<unknown>>(), 5), true);
});
