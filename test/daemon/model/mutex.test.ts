import t from 'tap';
import { Gate, KeyedMutex } from '../../../src/daemon/model/mutex.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

t.test('calls for one key run one after the other, other keys overlap', async (t) => {
  const m = new KeyedMutex();
  const log: string[] = [];
  const job = (k: string, id: string) =>
    m.run(k, async () => {
      log.push(`${id}+`);
      await tick();
      log.push(`${id}-`);
      return id;
    });
  const all = Promise.all([job('a', 'a1'), job('a', 'a2'), job('b', 'b1')]);
  t.ok(m.isBusy('a'));
  t.same(await all, ['a1', 'a2', 'b1']);
  t.ok(log.indexOf('a1-') < log.indexOf('a2+'), 'a2 waits for a1');
  t.ok(log.indexOf('b1+') < log.indexOf('a1-'), 'b1 overlaps a1');
  await tick();
  t.notOk(m.isBusy('a'));
});

t.test('a failed call does not block the next', async (t) => {
  const m = new KeyedMutex();
  await t.rejects(m.run('k', async () => Promise.reject(new Error('boom'))), /boom/);
  t.equal(await m.run('k', async () => 7), 7);
});

t.test('the gate: exclusive waits for shared, shared waits for exclusive', async (t) => {
  const g = new Gate();
  const log: string[] = [];
  const r1 = g.shared(async () => {
    log.push('r1+');
    await tick(10);
    log.push('r1-');
  });
  const w = g.exclusive(async () => {
    log.push('w+');
    await tick(10);
    log.push('w-');
  });
  const r2 = g.shared(async () => {
    log.push('r2+');
  });
  await Promise.all([r1, w, r2]);
  t.same(log, ['r1+', 'r1-', 'w+', 'w-', 'r2+']);
  await t.rejects(g.exclusive(async () => Promise.reject(new Error('x'))), /x/);
  t.equal(await g.shared(async () => 1), 1, 'a failed writer releases the gate');
});
