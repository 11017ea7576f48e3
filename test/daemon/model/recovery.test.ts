// Start-up recovery and the reconcile loop of the model, on fakes: what a
// dead daemon left half done, and guests changed behind domud's back.
import t from 'tap';
import { encodeAttrs } from '../../../src/daemon/model/domain.js';
import { ToolstackFailedError } from '../../../src/xm/index.js';
import { rig } from './fakes.js';

const settings = { memory: 64, vcpus: 1, kernel: '/boot/vmlinuz', ramdisk: '', extra: '', root: '', disks: [] };
const attrs = (phase: 'creating' | 'ready' | 'destroying') => encodeAttrs({ v: 1, phase, settings });

t.test('load: a creation whose guest runs is adopted, one without is rolled back once too old, a destroy is finished', async (t) => {
  const { host, allocator, restart, logs } = rig(t);
  allocator.allocate('made', '00:16:3e:00:00:01', { attrs: attrs('creating') });
  allocator.allocate('lost', '00:16:3e:00:00:02', { attrs: attrs('creating') });
  allocator.allocate('going', '00:16:3e:00:00:03', { attrs: attrs('destroying') });
  allocator.allocate('idle', '00:16:3e:00:00:04', { attrs: attrs('ready') });
  host.start('made');
  host.start('going');
  const m = restart({ createGraceMs: 0 });
  await m.load();
  t.same(m.list().map((d) => [d.name, d.state]), [['made', 'blocked'], ['idle', 'stopped']]);
  t.equal(allocator.get('lost'), undefined, 'rolled back');
  t.ok(host.calls.includes('destroy lost'), 'in case its create finished after all');
  t.equal(allocator.get('going'), undefined, 'destroyed');
  t.notOk(host.guests.has('going'));
  t.same([...host.routes], [[`vif${host.guests.get('made')!.id}.0`, '10.9.0.2']], 'the adopted guest routed');
  t.ok(logs.some((l) => l.msg === 'adopting a domain whose creation was interrupted'));
});

t.test('load: a young creation waits for its create to finish or time out', async (t) => {
  const { host, allocator, restart } = rig(t);
  allocator.allocate('young', '00:16:3e:00:00:01', { attrs: attrs('creating') });
  const m = restart({ createGraceMs: 60_000 });
  await m.load();
  t.ok(allocator.get('young'), 'kept for now');
  t.equal(m.find('young'), undefined, 'and unseen');
  host.start('young'); // the dead daemon's create finished
  await m.reconcile();
  t.match(m.find('young'), { state: 'blocked' }, 'adopted by a later round');
});

t.test('load: without the toolstack, nothing is judged', async (t) => {
  const { host, allocator, restart, logs } = rig(t);
  allocator.allocate('lost', '00:16:3e:00:00:02', { attrs: attrs('creating') });
  host.fail.set('list', new ToolstackFailedError(['xl', 'list'], 1, 'no xenstored'));
  await restart({ createGraceMs: 0 }).load();
  t.ok(allocator.get('lost'), 'kept');
  t.ok(logs.some((l) => /cannot list domains at start-up/.test(l.msg)));
});

t.test('reconcile: guests that stop, start or change state behind domud\'s back', async (t) => {
  const { host, manager } = rig(t);
  await manager.create('web', {});
  await manager.create('db', {});
  await manager.shutdown('db', { wait: true });
  const changes: Array<[string, unknown]> = [];
  manager.on('domainChanged', (d, c) => changes.push([d.name, c]));
  host.remove('web');
  const id = host.start('db');
  await manager.reconcile();
  t.match(manager.get('web'), { domainId: -1, state: 'stopped' });
  t.match(manager.get('db'), { domainId: id, state: 'blocked' });
  t.same([...host.routes], [[`vif${id}.0`, '10.9.0.3']], 'routes follow');
  host.guests.get('db')!.state = 'crashed';
  await manager.reconcile();
  t.same(changes, [
    ['web', { domainId: -1, state: 'stopped', vif: '' }],
    ['db', { domainId: id, state: 'blocked', vif: `vif${id}.0` }],
    ['db', { state: 'crashed' }],
  ]);
});

t.test('reads: what the leases and records say, without the toolstack', async (t) => {
  const { host, manager } = rig(t);
  await manager.create('web', {});
  await manager.create('db', {});
  await manager.shutdown('db', { wait: true });
  await manager.reconcile();
  const calls = host.calls.length;
  t.same(manager.summaries(), [
    { name: 'web', address: '10.9.0.2', domainId: 1, state: 'blocked' },
    { name: 'db', address: '10.9.0.3', domainId: -1, state: 'stopped' },
  ]);
  t.equal(manager.count(), 2);
  t.equal(manager.leasesInUse(), 2);
  t.same(manager.leases().map((l) => l.name), ['web', 'db']);
  t.doesNotThrow(() => manager.assertKnown('db'));
  t.throws(() => manager.assertKnown('nosuch'), { code: 'NoSuchDomain' });
  t.throws(() => manager.get('nosuch'), { code: 'NoSuchDomain' });
  t.equal(host.calls.length, calls, 'no toolstack run');
});
