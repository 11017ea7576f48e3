// A full file system under the lease database: every change is refused with
// NoSpaceError naming the directory, the database is left as it was, and the
// same change works once there is room again. On a real tmpfs (needs root).
import { join } from 'node:path';
import t from 'tap';
import { Allocator, NoSpaceError, Pool } from '../../src/ipam/index.js';
import { tmpfs } from '../support/tmpfs.js';
import { MAC } from './fresh.js';

t.test('allocate, setAttrs and release on a full disk', async (t) => {
  const fs = tmpfs(t, 'size=1m');
  const a = Allocator.open(join(fs.dir, 'leases.db'), Pool.parse('10.9.0.0/24'));
  t.teardown(() => a.close());
  const kept = a.allocate('kept', MAC, { attrs: '{"v":1}' });
  const before = a.list();
  fs.fill();

  const refused = (what: string, change: () => unknown) => {
    t.throws(change, NoSpaceError, `${what}: NoSpaceError`);
    try {
      change();
    } catch (e) {
      t.equal((e as NoSpaceError).code, 'NoSpace');
      t.equal((e as NoSpaceError).directory, fs.dir, `${what}: names the directory`);
      t.match((e as Error).message, `no space left in ${fs.dir}`);
      t.equal(((e as Error).cause as { code?: string }).code, 'SQLITE_FULL', 'keeps SQLite\'s error as the cause');
    }
    t.same(a.list(), before, `${what}: the leases are as before`);
  };
  refused('allocate', () => a.allocate('new', '00:16:3e:00:00:02'));
  refused('allocate, not durable', () => a.allocate('new', '00:16:3e:00:00:02', { durable: false }));
  refused('setAttrs', () => a.setAttrs('kept', '{"v":2}'));
  refused('release', () => a.release('kept'));
  t.equal(a.inUse(), 1);

  fs.free();
  t.equal(a.allocate('new', '00:16:3e:00:00:02', { durable: false }).address, '10.9.0.3', 'allocate works again');
  a.setAttrs('kept', '{"v":2}');
  t.equal(a.get('kept')?.attrs, '{"v":2}', 'setAttrs works again');
  t.same(a.release('kept'), { ...kept, attrs: '{"v":2}' }, 'release works again');
});

t.test('other database errors stay what they were', async (t) => {
  const dir = t.testdir();
  const a = Allocator.open(join(dir, 'leases.db'), Pool.parse('10.9.0.0/24'));
  a.close();
  t.throws(() => a.release('x'), { name: 'TypeError' }, 'a closed database is not a full one');
});
