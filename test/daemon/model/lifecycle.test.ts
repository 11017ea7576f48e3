// Each lifecycle rule and each rollback of the model, on in-memory fakes of
// the toolstack and the routes and a real allocator: milliseconds each.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { VifNotFoundError } from '../../../src/net/index.js';
import { ToolstackFailedError } from '../../../src/xm/index.js';
import { deferred, rig } from './fakes.js';

const phaseOf = (attrs: string | undefined) => (attrs === undefined ? undefined : (JSON.parse(attrs) as { phase: string }).phase);

t.test('create: a lease, a config, a guest, its id from its vif, a route, then the news', async (t) => {
  const { host, manager, allocator, configDir, logs } = rig(t);
  const news: string[] = [];
  manager.on('domainNew', (d) => news.push(`new ${d.name}`));
  manager.on('leaseAcquired', (a, n) => news.push(`lease ${a} ${n}`));
  manager.on('leasesInUse', (n) => news.push(`inUse ${n}`));
  const d = await manager.create('web', { memory: 128 });
  t.match(d, { name: 'web', address: '10.9.0.2', domainId: 1, state: 'running', vif: 'vif1.0', settings: { memory: 128 } });
  t.same(host.calls, ['create web'], 'one toolstack run: the id came from the vif');
  t.same([...host.routes], [['vif1.0', '10.9.0.2']]);
  t.equal(phaseOf(allocator.get('web')?.attrs), 'ready');
  t.ok(existsSync(join(configDir, 'web.cfg')));
  t.same(news, ['new web', 'lease 10.9.0.2 web', 'inUse 1']);
  t.match(logs.find((l) => l.msg === 'domain created'), { domain: 'web', domid: 1, idFrom: 'vif' });
  t.same(manager.list().map((x) => x.name), ['web']);
});

t.test('create: boots side by side ask the toolstack for their ids', async (t) => {
  const { host, manager } = rig(t);
  const [a, b] = await Promise.all([manager.create('a', {}), manager.create('b', {})]);
  t.equal(host.count('domid'), 2, 'neither can tell which new vif is its own');
  t.same([a.domainId, b.domainId].sort(), [host.guests.get('a')!.id, host.guests.get('b')!.id].sort());
  t.equal(a.domainId, host.guests.get('a')!.id);
  t.equal(b.domainId, host.guests.get('b')!.id);
});

t.test('create: a vif of someone else appearing meanwhile sends it to the toolstack too', async (t) => {
  const { host, manager } = rig(t);
  const held = deferred();
  host.hold.set('create', held.promise);
  const creating = manager.create('web', {});
  await new Promise((r) => setImmediate(r));
  host.start('foreign'); // behind domud's back, during our create
  held.resolve();
  const d = await creating;
  t.equal(host.count('domid'), 1);
  t.equal(d.domainId, host.guests.get('web')!.id);
});

t.test('create: the lease is a domain, durably, from the moment the guest exists', async (t) => {
  const { host, manager, allocator } = rig(t);
  host.noVif = true; // so the id is asked of the toolstack, which we hold
  const held = deferred();
  host.hold.set('domid', held.promise);
  const creating = manager.create('web', {}).catch((e: unknown) => e);
  while (host.count('domid') === 0) await new Promise((r) => setImmediate(r));
  t.equal(phaseOf(allocator.get('web')?.attrs), 'ready', 'marked ready while the id is looked up');
  t.equal(manager.find('web'), undefined, 'but unseen by readers until it is whole');
  t.equal(manager.count(), 0);
  held.resolve();
  t.type(await creating, VifNotFoundError, 'no vif, so no route: the create fails');
});

t.test('create rollback: a guest without a vif is destroyed, its lease and config gone', async (t) => {
  const { host, manager, allocator, configDir } = rig(t);
  const news: string[] = [];
  manager.on('domainNew', () => news.push('new'));
  host.noVif = true;
  await t.rejects(manager.create('web', {}), VifNotFoundError);
  t.same(host.calls, ['create web', 'domid web', 'destroy web']);
  t.equal(host.guests.size, 0);
  t.equal(allocator.get('web'), undefined);
  t.same(readdirSync(configDir).filter((f) => f.endsWith('.cfg')), []);
  t.same(host.routes.size, 0);
  t.same(news, []);
  host.noVif = false;
  await manager.create('web', {});
  t.pass('the name is free again');
});

t.test('create rollback: a create that failed destroys nothing', async (t) => {
  const { host, manager, allocator } = rig(t);
  host.start('web'); // a guest of that name, not domud's
  await t.rejects(manager.create('web', {}), ToolstackFailedError);
  t.same(host.calls, ['create web'], 'the other guest of that name is left alone');
  t.ok(host.guests.has('web'));
  t.equal(allocator.get('web'), undefined);
});

t.test('create rollback: a route that fails to go up comes off, the guest goes', async (t) => {
  const { host, manager, allocator } = rig(t);
  const up = host.routeTable.up;
  host.routeTable.up = async (r) => {
    host.routes.set(r.vif, r.address); // half done
    throw new Error('ip: no');
  };
  t.teardown(() => (host.routeTable.up = up));
  await t.rejects(manager.create('web', {}), /ip: no/);
  t.same(host.routes.size, 0);
  t.equal(host.guests.size, 0);
  t.equal(allocator.inUse(), 0);
});

t.test('create rollback: a destroy that fails too is logged; the domain is still forgotten', async (t) => {
  const { host, manager, allocator, logs } = rig(t);
  host.noVif = true;
  host.fail.set('destroy', new ToolstackFailedError(['xl', 'destroy'], 1, 'no'));
  await t.rejects(manager.create('web', {}), VifNotFoundError);
  t.ok(host.guests.has('web'), 'the guest stays');
  t.equal(allocator.get('web'), undefined);
  t.ok(logs.some((l) => l.msg === 'rollback: destroy failed'));
});

t.test('create: bad input is refused before anything is leased or run', async (t) => {
  const { host, manager, allocator } = rig(t);
  await manager.create('web', {});
  await t.rejects(manager.create('web', {}), { code: 'DomainExists' });
  t.throws(() => manager.create('a b', {}), { code: 'InvalidName' });
  t.throws(() => manager.create('123', {}), { code: 'InvalidName' });
  t.throws(() => manager.create('x', { memory: 1 }), { code: 'InvalidArgument' });
  t.throws(() => manager.create('x', { kernel: 'relative' }), { code: 'InvalidArgument' });
  t.throws(() => manager.create('x', { mac: '01:00:00:00:00:01' }), { code: 'InvalidArgument' });
  t.same(host.calls, ['create web']);
  t.equal(allocator.inUse(), 1);
});

t.test('start: boots a stopped domain; a running one is refused; a failed boot rolls back', async (t) => {
  const { host, manager } = rig(t);
  await manager.create('web', {});
  await t.rejects(manager.start('web'), { code: 'AlreadyRunning' }, 'the toolstack is asked, and agrees');
  t.equal(host.count('domid'), 1);
  host.remove('web');
  await manager.start('web');
  t.match(manager.get('web'), { state: 'running' }, 'the toolstack said it had stopped: started');
  host.remove('web');
  await manager.reconcile();
  t.match(manager.get('web'), { domainId: -1, state: 'stopped' });
  const changes: unknown[] = [];
  manager.on('domainChanged', (_d, c) => changes.push(c));
  host.noVif = true;
  await t.rejects(manager.start('web'), VifNotFoundError);
  t.match(manager.get('web'), { domainId: -1, state: 'stopped' });
  t.equal(host.guests.size, 0, 'its guest destroyed');
  t.same(changes, [], 'never seen running');
  await t.rejects(manager.start('nosuch'), { code: 'NoSuchDomain' });
});

t.test('shutdown: waited, the route goes and the domain reads stopped', async (t) => {
  const { host, manager } = rig(t);
  await manager.create('web', {});
  const changes: unknown[] = [];
  manager.on('domainChanged', (_d, c) => changes.push(c));
  await manager.shutdown('web', { wait: true });
  t.match(manager.get('web'), { domainId: -1, state: 'stopped', vif: '' });
  t.same(host.routes.size, 0);
  t.same(changes, [{ domainId: -1, state: 'stopped', vif: '' }]);
  await t.rejects(manager.shutdown('web', {}), { code: 'NotRunning' });
});

t.test('shutdown: a guest Xen still lists, shut down, stays stopped through reconcile rounds', async (t) => {
  const { host, manager } = rig(t);
  await manager.create('web', {});
  await manager.reconcile();
  host.linger = true;
  const changes: unknown[] = [];
  manager.on('domainChanged', (_d, c) => changes.push(c));
  await manager.shutdown('web', { wait: true });
  t.equal(host.guests.get('web')?.state, 'shutdown', 'still listed');
  await manager.reconcile();
  await manager.reconcile();
  t.match(manager.get('web'), { domainId: -1, state: 'stopped' });
  await t.rejects(manager.shutdown('web', {}), { code: 'NotRunning' }, 'the lingering guest is not taken for a running one');
  host.remove('web');
  await manager.reconcile();
  t.match(manager.get('web'), { domainId: -1, state: 'stopped' });
  t.same(changes, [{ domainId: -1, state: 'stopped', vif: '' }], 'one change for the whole shutdown');
});

t.test('shutdown: not waited, the state follows the toolstack', async (t) => {
  const { host, manager } = rig(t);
  await manager.create('web', {});
  await manager.shutdown('web', {});
  t.match(manager.get('web'), { state: 'running' }, 'asked, not yet done');
  host.guests.get('web')!.state = 'shutdown';
  await manager.reconcile();
  t.match(manager.get('web'), { state: 'shutdown' }, 'a shutdown domud did not wait for is seen as it goes');
});

t.test('destroy: guest, route, config and lease go; a failed one leaves the domain known', async (t) => {
  const { host, manager, allocator, configDir } = rig(t);
  await manager.create('web', {});
  const news: string[] = [];
  manager.on('domainRemoved', (n) => news.push(`removed ${n}`));
  manager.on('leaseReleased', (a, n) => news.push(`released ${a} ${n}`));
  host.fail.set('destroy', new ToolstackFailedError(['xl', 'destroy'], 1, 'busy'));
  await t.rejects(manager.destroy('web'), ToolstackFailedError);
  t.match(manager.get('web'), { state: 'running' }, 'still known, to try again');
  t.equal(phaseOf(allocator.get('web')?.attrs), 'ready');
  await manager.destroy('web');
  t.equal(host.guests.size, 0);
  t.equal(host.routes.size, 0);
  t.equal(allocator.get('web'), undefined);
  t.notOk(existsSync(join(configDir, 'web.cfg')));
  t.same(news, ['removed web', 'released 10.9.0.2 web']);
  await t.rejects(manager.destroy('web'), { code: 'NoSuchDomain' });
  // Xen may list the destroyed guest a moment longer, dying: not a domain.
  host.guests.set('web', { id: 1, state: 'dying' });
  const changed: unknown[] = [];
  manager.on('domainChanged', (d) => changed.push(d));
  await manager.reconcile();
  t.equal(manager.find('web'), undefined, 'no lease, so not adopted');
  t.same(changed, []);
});

t.test('calls for one domain run in turn; close refuses new ones and waits for those in flight', async (t) => {
  const { host, manager } = rig(t);
  await manager.create('web', {});
  const held = deferred();
  host.hold.set('shutdown', held.promise);
  const order: string[] = [];
  const a = manager.shutdown('web', { wait: true }).then(() => order.push('shutdown'));
  const b = manager.start('web').then(() => order.push('start'));
  t.equal(manager.busy, 2);
  const closing = manager.close(5_000);
  await t.rejects(manager.create('x', {}), { code: 'ShuttingDown' });
  held.resolve();
  await Promise.all([a, b, closing]);
  t.same(order, ['shutdown', 'start']);
  t.equal(manager.busy, 0);
});
