// The reconcile loop against changes made behind domud's back: a guest
// destroyed with the toolstack itself, a guest started by hand, a route
// deleted, a stale route added. Everything is done with the real tools
// (the simulator's own commands, `ip` in the namespace).
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Sandbox } from '../../../src/dev/sandbox.js';
import { startSandbox } from '../../support/daemon.js';
import { Client, DOMAIN_IFACE, MANAGER, MANAGER_IFACE, PROPS, errorOf, eventually, unwrap, variant } from './fixtures/client.js';

interface Route {
  dst: string;
  dev: string;
  prefsrc?: string;
}

async function rangeRoutes(s: Sandbox): Promise<Route[]> {
  const r = await s.ip(['-j', 'route', 'show']);
  return (JSON.parse(r.stdout || '[]') as Route[]).filter((x) => x.dst.startsWith('172.20.216.'));
}

t.test('guests and routes changed behind domud\'s back', { skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, async (t) => {
  const s = await startSandbox(t, {});
  t.ok(s.netns, 'a namespace of its own');
  const c = await Client.connect(t, s.address);
  await c.match(`type='signal',sender='org.domud.Domud1',interface='${PROPS}'`);
  const sim = async (...args: string[]) => {
    const r = await s.sim(args);
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  const [a] = await c.manager('CreateDomain', 'sa{sv}', ['a', {}]);
  const [b] = await c.manager('CreateDomain', 'sa{sv}', ['b', {}]);
  const idA = (await c.prop(a, DOMAIN_IFACE, 'DomainId')) as number;
  const idB = (await c.prop(b, DOMAIN_IFACE, 'DomainId')) as number;
  t.same((await rangeRoutes(s)).map((r) => r.dst).sort(), ['172.20.216.2', '172.20.216.3']);

  // The first reconcile round replaces "running" (what create assumes) with the toolstack's own state.
  await eventually(async () => (await c.prop(a, DOMAIN_IFACE, 'State')) === 'blocked' && (await c.prop(b, DOMAIN_IFACE, 'State')) === 'blocked', 10_000, 'the toolstack\'s states');

  // a destroyed with the toolstack itself: stopped within a few rounds.
  const mark = c.seen.length;
  const t0 = Date.now();
  await sim('destroy', 'a');
  const changed = await c.waitFor((x) => x.path === a && x.member === 'PropertiesChanged' && unwrap(x.body[1]).State === 'stopped', 10_000, mark);
  t.ok(Date.now() - t0 < 5_000, `noticed within a few reconcile rounds (${Date.now() - t0} ms)`);
  t.equal(changed.body[0], DOMAIN_IFACE);
  t.same(unwrap(changed.body[1]), { DomainId: -1, State: 'stopped', Vif: '' }, 'one PropertiesChanged with all three');
  t.equal(await c.prop(a, DOMAIN_IFACE, 'State'), 'stopped');
  await eventually(async () => !(await rangeRoutes(s)).some((r) => r.dst === '172.20.216.2'), 5_000, 'a\'s route to go');
  t.same(((await c.manager('ListLeases'))[0] as unknown[][]).map((l) => l[1]).sort(), ['a', 'b'], 'a keeps its lease');
  t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), 2);
  t.notOk(c.seen.slice(mark).some((x) => x.path === b), 'b untouched');
  // A stopped domain's record goes (its lease says all there is); what
  // follows reads a from its lease.
  await eventually(() => /"dropped":1,"held":1,"msg":"records of stopped domains dropped"/.test(readFileSync(s.logPath, 'utf8')), 5_000, 'a\'s record to be dropped');
  t.equal(await c.prop(a, DOMAIN_IFACE, 'State'), 'stopped', 'still stopped, read from its lease');

  // StartDomain brings a back on the same address.
  await c.manager('StartDomain', 's', ['a']);
  t.equal(await c.prop(a, DOMAIN_IFACE, 'Address'), '172.20.216.2');
  const idA2 = (await c.prop(a, DOMAIN_IFACE, 'DomainId')) as number;
  t.ok(idA2 > idA);
  t.ok((await rangeRoutes(s)).some((r) => r.dst === '172.20.216.2' && r.dev === `vif${idA2}.0`), 'a\'s route on its new vif');

  // A missing route is restored.
  await s.ip(['route', 'del', '172.20.216.3/32', 'dev', `vif${idB}.0`]);
  t.notOk((await rangeRoutes(s)).some((r) => r.dst === '172.20.216.3'), 'route deleted by hand');
  const back = await eventually(async () => (await rangeRoutes(s)).find((r) => r.dst === '172.20.216.3'), 10_000, 'b\'s route to come back');
  t.same({ dev: back?.dev, src: back?.prefsrc }, { dev: `vif${idB}.0`, src: '172.20.216.1' }, 'restored as domud makes it');

  // A stale route in the range (no domain has .99) is removed; one outside it stays.
  await s.ip(['route', 'add', '172.20.216.99/32', 'dev', `vif${idB}.0`]);
  await s.ip(['route', 'add', '10.99.0.1/32', 'dev', `vif${idB}.0`]);
  await eventually(async () => !(await rangeRoutes(s)).some((r) => r.dst === '172.20.216.99'), 10_000, 'the stale route to go');
  const all = JSON.parse((await s.ip(['-j', 'route', 'show'])).stdout) as Route[];
  t.ok(all.some((r) => r.dst === '10.99.0.1'), 'a route outside the range is not domud\'s business');
  t.match(await c.prop(b, DOMAIN_IFACE, 'State'), /^(running|blocked)$/, 'b still runs');

  // A guest paused and crashed behind domud's back: State follows the toolstack.
  const mark2 = c.seen.length;
  await sim('pause', 'b');
  const paused = await c.waitFor((x) => x.path === b && x.member === 'PropertiesChanged', 10_000, mark2);
  t.same(unwrap(paused.body[1]), { State: 'paused' }, 'only State changes');
  await sim('crash', 'b');
  await c.waitFor((x) => x.path === b && x.member === 'PropertiesChanged' && unwrap(x.body[1]).State === 'crashed', 10_000, mark2);
  t.equal(await c.prop(b, DOMAIN_IFACE, 'DomainId'), idB, 'still the same domain id');

  // Vanished entirely (vif and all): stopped, lease kept.
  await sim('vanish', 'b');
  await eventually(async () => (await c.prop(b, DOMAIN_IFACE, 'State')) === 'stopped', 10_000, 'b stopped');
  t.equal(await c.prop(b, DOMAIN_IFACE, 'Vif'), '');
  await eventually(async () => !(await rangeRoutes(s)).some((r) => r.dst === '172.20.216.3'), 5_000, 'b\'s route to go');
  t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), 2, 'leases kept');
});

t.test('a call is not refused on a view the toolstack has since changed', { skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, async (t) => {
  // No reconcile round in the test's time: only the call itself can notice.
  const s = await startSandbox(t, { config: { Daemon: { ReconcileSeconds: '3600' } } });
  const c = await Client.connect(t, s.address);
  const [a] = await c.manager('CreateDomain', 'sa{sv}', ['a', {}]);
  const id = (await c.prop(a, DOMAIN_IFACE, 'DomainId')) as number;
  t.equal((await s.sim(['destroy', 'a'])).code, 0);
  t.equal(await c.prop(a, DOMAIN_IFACE, 'State'), 'running', 'domud has not looked yet');

  // Start: domud thinks it runs, the toolstack says it does not: started, not AlreadyRunning.
  await c.manager('StartDomain', 's', ['a']);
  const id2 = (await c.prop(a, DOMAIN_IFACE, 'DomainId')) as number;
  t.ok(id2 > id, 'started anew');
  t.ok((await rangeRoutes(s)).some((r) => r.dst === '172.20.216.2' && r.dev === `vif${id2}.0`), 'its route on the new vif');
  t.notOk((await rangeRoutes(s)).some((r) => r.dev === `vif${id}.0`), 'none left on the old one');
  t.equal(await errorOf(c.manager('StartDomain', 's', ['a'])), 'org.domud.Domud1.Error.AlreadyRunning', 'running for real: refused');

  // Shutdown: domud thinks it stopped, the toolstack runs it: shut down, not NotRunning.
  await c.manager('ShutdownDomain', 'sa{sv}', ['a', { wait: variant('b', true) }]);
  t.equal((await s.sim(['create', `${s.stateDir}/domains/a.cfg`])).code, 0, 'started by hand');
  t.equal(await c.prop(a, DOMAIN_IFACE, 'State'), 'stopped', 'domud has not looked yet');
  await c.manager('ShutdownDomain', 'sa{sv}', ['a', { wait: variant('b', true) }]);
  t.equal(await c.prop(a, DOMAIN_IFACE, 'State'), 'stopped');
  t.notMatch((await s.sim(['list'])).stdout, /^a\s/m, 'gone from the toolstack');
  t.equal(await errorOf(c.manager('ShutdownDomain', 'sa{sv}', ['a', {}])), 'org.domud.Domud1.Error.NotRunning', 'stopped for real: refused');
});

t.test('after a restart, domains read from their leases only when asked for are whole', { skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  const path: Record<string, string> = {};
  for (const n of ['a', 'b', 'c', 'd']) path[n] = (await c.manager('CreateDomain', 'sa{sv}', [n, { memory: variant('u', 96) }]))[0] as string;
  for (const n of ['b', 'd']) await c.manager('ShutdownDomain', 'sa{sv}', [n, { wait: variant('b', true) }]);
  const before = ((await c.manager('ListDomains'))[0] as unknown[][]).map((d) => [d[0], d[2], d[3]]);
  const idA = (await c.prop(path.a!, DOMAIN_IFACE, 'DomainId')) as number;
  t.equal(await s.stopDaemon(), 0);
  await s.startDaemon();

  // Running guests were adopted at start-up; stopped ones are read from their leases.
  const after = ((await c.manager('ListDomains'))[0] as unknown[][]).map((d) => [d[0], d[2], d[3]]);
  t.same(after.map((d) => [d[0], d[1] === 'stopped', d[2]]), before.map((d) => [d[0], d[1] === 'stopped', d[2]]), 'the same domains, addresses and run states');
  t.same(after.map((d) => d[0]), ['a', 'b', 'c', 'd'], 'in address order');
  t.equal(await c.prop(path.a!, DOMAIN_IFACE, 'DomainId'), idA, 'a adopted with its id');
  t.equal(await c.prop(path.b!, DOMAIN_IFACE, 'MemoryMiB'), 96, 'b\'s settings read from its lease');
  t.equal(await c.prop(path.b!, DOMAIN_IFACE, 'State'), 'stopped');
  t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), 4);
  t.equal((await c.manager('GetDomain', 's', ['d']))[0], path.d);
  t.equal(await errorOf(c.manager('CreateDomain', 'sa{sv}', ['d', {}])), 'org.domud.Domud1.Error.DomainExists', 'a stopped domain\'s name is still taken');
  t.equal(await errorOf(c.manager('GetDomain', 's', ['zz'])), 'org.domud.Domud1.Error.NoSuchDomain');

  // b started by hand: the reconcile loop adopts it from its lease.
  const mark = c.seen.length;
  await c.match(`type='signal',sender='org.domud.Domud1',interface='${PROPS}'`);
  t.equal((await s.sim(['create', `${s.stateDir}/domains/b.cfg`])).code, 0, 'started by hand');
  const seen = await c.waitFor((x) => x.path === path.b && x.member === 'PropertiesChanged' && typeof unwrap(x.body[1]).DomainId === 'number', 10_000, mark);
  const idB = unwrap(seen.body[1]).DomainId as number;
  t.ok(idB >= 0, 'b has a domain id');
  await eventually(async () => (await rangeRoutes(s)).some((r) => r.dst === '172.20.216.3' && r.dev === `vif${idB}.0`), 10_000, 'b\'s route on its vif');

  // d, never read since the restart, is started and destroyed like any other.
  await c.manager('StartDomain', 's', ['d']);
  t.match(await c.prop(path.d!, DOMAIN_IFACE, 'State'), /^(running|blocked)$/);
  await c.manager('DestroyDomain', 's', ['d']);
  t.equal(await errorOf(c.manager('GetDomain', 's', ['d'])), 'org.domud.Domud1.Error.NoSuchDomain', 'gone');
  t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), 3);
  t.notOk((await rangeRoutes(s)).some((r) => r.dst === '172.20.216.5'), 'd\'s route gone');
});
