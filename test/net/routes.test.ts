// src/net against a real kernel: every subtest runs in its own network
// namespace with veth pairs named like Xen vifs, and reads the result back
// with `ip -n <ns> -j`.
import t from 'tap';
import { InvalidBindingError, IpCommandError, IpMissingError, NetConfigError, Routes } from '../../src/net/index.js';
import { leftoverNamespaces, Netns, nsTest } from './netns.js';

const RANGE = '172.20.216.0/24';
const DOM0 = '172.20.216.1';
const routesIn = (ns: Netns) => new Routes({ range: RANGE, dom0: DOM0, netns: ns.name });

if (process.getuid?.() !== 0) t.fail('these tests need root (CI runs as root); they are not skipped');

t.after(async () => {
  // Every namespace a subtest made is gone once its teardown ran.
  const left = await leftoverNamespaces();
  if (left.length > 0) throw new Error(`namespaces left behind: ${left.join(', ')}`);
});

nsTest(t, 'up sets address, link, proxy ARP and the host route; again is a no-op', async (t, ns) => {
  const vif = await ns.vif(1);
  const routes = routesIn(ns);
  await routes.up({ vif, address: '172.20.216.5' });
  t.same(await ns.link(vif), { up: true, inet: ['172.20.216.1/32'] });
  t.equal(await ns.proxyArp(vif), '1');
  t.same(await ns.vifRoutes(), ['172.20.216.5 vif1.0 172.20.216.1 0']);

  await routes.up({ vif, address: '172.20.216.5' });
  t.same(await ns.link(vif), { up: true, inet: ['172.20.216.1/32'] }, 'still one address');
  t.same(await ns.vifRoutes(), ['172.20.216.5 vif1.0 172.20.216.1 0'], 'still one route');
  t.same(await routes.reconcile([{ vif, address: '172.20.216.5' }]), [], 'reconcile finds nothing to do after up');

  // close() ends the ip -batch process; the next change starts another.
  routes.close();
  await routes.down({ vif, address: '172.20.216.5' });
  t.same(await ns.vifRoutes(), [], 'changes work after close');
});

nsTest(t, 'vifs: the vif devices there are, and nothing else', async (t, ns) => {
  const routes = routesIn(ns);
  t.same(await routes.vifs(), [], 'none yet');
  await ns.vif(7);
  await ns.vif(12);
  t.same((await routes.vifs()).sort(), ['vif12.0', 'vif7.0'], 'not their peers, nor lo');
  const gone = new Routes({ range: RANGE, dom0: DOM0, netns: 'domud-test-does-not-exist' });
  await t.rejects(gone.vifs(), { code: 'IpCommandFailed' });
});

nsTest(t, 'prefetch: the next reconcile plans from the tables read then, unless a change came between', async (t, ns) => {
  const vif = await ns.vif(2);
  await ns.ip('link', 'set', vif, 'up');
  const routes = routesIn(ns);
  routes.prefetch();
  await new Promise((r) => setTimeout(r, 300)); // the read is done
  await ns.ip('route', 'add', '172.20.216.9', 'dev', vif);
  t.same(await routes.reconcile([]), [], 'planned from the tables as read ahead: the new route was not there');
  t.same(await routes.reconcile([]), [{ action: 'remove', what: 'route', vif, address: '172.20.216.9' }], 'read afresh the next time');

  await ns.ip('route', 'add', '172.20.216.9', 'dev', vif);
  routes.prefetch();
  await new Promise((r) => setTimeout(r, 300));
  await routes.up({ vif, address: '172.20.216.5' });
  await ns.ip('route', 'add', '172.20.216.10', 'dev', vif);
  const after = await routes.reconcile([{ vif, address: '172.20.216.5' }]);
  t.same(after.map((c) => c.address).sort(), ['172.20.216.10', '172.20.216.9'], 'a change in between: read afresh');

  const gone = new Routes({ range: RANGE, dom0: DOM0, netns: 'domud-test-does-not-exist' });
  gone.prefetch();
  await t.rejects(gone.reconcile([]), { code: 'IpCommandFailed' }, 'a failed read ahead is the reconcile\'s failure');
});

nsTest(t, 'up after Xen vif-route ran first, down removes both routes', async (t, ns) => {
  const vif = await ns.vif(3);
  // What vif-route does on "online" (with ip in place of ifconfig).
  await ns.ip('addr', 'add', '172.20.216.1/32', 'dev', vif);
  await ns.ip('link', 'set', vif, 'up');
  await ns.exec(['tee', `/proc/sys/net/ipv4/conf/${vif}/proxy_arp`], '1\n');
  await ns.ip('route', 'add', '172.20.216.7', 'dev', vif, 'src', '172.20.216.1', 'metric', '2');

  const routes = routesIn(ns);
  await routes.up({ vif, address: '172.20.216.7' });
  t.same(await ns.vifRoutes(), ['172.20.216.7 vif3.0 172.20.216.1 0', '172.20.216.7 vif3.0 172.20.216.1 2']);
  t.same((await ns.link(vif))?.inet, ['172.20.216.1/32']);

  await routes.down({ vif, address: '172.20.216.7' });
  t.same(await ns.vifRoutes(), [], 'both routes gone');
  t.same(await ns.link(vif), { up: true, inet: [] }, 'dom0 address gone');
});

nsTest(t, 'down is idempotent and leaves other guests alone', async (t, ns) => {
  const routes = routesIn(ns);
  const a = { vif: await ns.vif(1), address: '172.20.216.5' };
  const b = { vif: await ns.vif(2), address: '172.20.216.6' };
  await routes.up(a);
  await routes.up(b);
  await routes.down(a);
  t.same(await ns.vifRoutes(), ['172.20.216.6 vif2.0 172.20.216.1 0']);
  t.same((await ns.link(a.vif))?.inet, []);
  t.same((await ns.link(b.vif))?.inet, ['172.20.216.1/32']);
  await routes.down(a);
  t.same(await ns.vifRoutes(), ['172.20.216.6 vif2.0 172.20.216.1 0'], 'second down changes nothing');
  await routes.down({ vif: b.vif, address: '172.20.216.9' });
  t.same(await ns.vifRoutes(), ['172.20.216.6 vif2.0 172.20.216.1 0'], 'down of an address the vif never had keeps its route');
});

nsTest(t, 'up over an existing route to the same address moves it to the new vif', async (t, ns) => {
  const routes = routesIn(ns);
  const old = { vif: await ns.vif(4), address: '172.20.216.20' };
  await routes.up(old);
  const vif = await ns.vif(5);
  await routes.up({ vif, address: '172.20.216.20' });
  t.same(await ns.vifRoutes(), ['172.20.216.20 vif5.0 172.20.216.1 0'], 'replaced, not "File exists"');
});

nsTest(t, 'a vif that disappears: down and reconcile are fine', async (t, ns) => {
  const routes = routesIn(ns);
  const g = { vif: await ns.vif(6), address: '172.20.216.30' };
  const other = { vif: await ns.vif(7), address: '172.20.216.31' };
  await routes.up(g);
  await routes.up(other);
  await ns.ip('link', 'del', g.vif);
  t.equal(await ns.link(g.vif), undefined);
  await routes.down(g);
  t.same(await routes.reconcile([g, other]), [{ action: 'skip', what: 'vif', vif: 'vif6.0', address: '172.20.216.30' }]);
  t.same(await ns.vifRoutes(), ['172.20.216.31 vif7.0 172.20.216.1 0']);
  await t.rejects(routes.up(g), { code: 'VifNotFound', vif: 'vif6.0' }, 'up of a missing vif is a typed error');
});

nsTest(t, 'reconcile adds what is missing, then has nothing to do', async (t, ns) => {
  const routes = routesIn(ns);
  const g1 = { vif: await ns.vif(1), address: '172.20.216.11' };
  const g2 = { vif: await ns.vif(2), address: '172.20.216.12' };
  const g3 = { vif: await ns.vif(3), address: '172.20.216.13' };
  // g2 half done: address and link, but no proxy ARP and a route with the wrong src.
  await ns.ip('addr', 'add', '172.20.216.1/32', 'dev', g2.vif);
  await ns.ip('addr', 'add', '10.9.9.9/32', 'dev', g2.vif);
  await ns.ip('link', 'set', g2.vif, 'up');
  await ns.ip('route', 'add', '172.20.216.12', 'dev', g2.vif, 'src', '10.9.9.9');
  // g3 complete but for its route.
  await ns.ip('addr', 'add', '172.20.216.1/32', 'dev', g3.vif);
  await ns.ip('link', 'set', g3.vif, 'up');
  await ns.exec(['tee', `/proc/sys/net/ipv4/conf/${g3.vif}/proxy_arp`], '1\n');

  const changes = await routes.reconcile([g1, g2, g3]);
  const add = (what: string, g: { vif: string; address: string }) => ({ action: 'add', what, ...g });
  t.same(changes, [
    add('address', g1),
    add('link', g1),
    add('proxy_arp', g1),
    add('route', g1),
    add('proxy_arp', g2),
    add('route', g2),
    add('route', g3),
  ]);
  t.same(await ns.vifRoutes(), [
    '172.20.216.11 vif1.0 172.20.216.1 0',
    '172.20.216.12 vif2.0 172.20.216.1 0',
    '172.20.216.13 vif3.0 172.20.216.1 0',
  ]);
  for (const g of [g1, g2, g3]) {
    t.equal((await ns.link(g.vif))?.up, true, `${g.vif} up`);
    t.ok((await ns.link(g.vif))?.inet.includes('172.20.216.1/32'), `${g.vif} has dom0/32`);
    t.equal(await ns.proxyArp(g.vif), '1', `${g.vif} proxy_arp`);
  }
  t.same(await routes.reconcile([g1, g2, g3]), [], 'second pass changes nothing');
  t.same(await routes.reconcile([]), [
    { action: 'remove', what: 'route', vif: 'vif1.0', address: '172.20.216.11' },
    { action: 'remove', what: 'route', vif: 'vif2.0', address: '172.20.216.12' },
    { action: 'remove', what: 'route', vif: 'vif3.0', address: '172.20.216.13' },
  ], 'no running guests: their routes go');
  t.same(await ns.vifRoutes(), []);
});

nsTest(t, 'reconcile removes stale routes in the range on vifs, and nothing else', async (t, ns) => {
  const routes = routesIn(ns);
  const g = { vif: await ns.vif(1), address: '172.20.216.5' };
  const stale = await ns.vif(2);
  await routes.up(g);
  await ns.ip('addr', 'add', '172.20.216.1/32', 'dev', stale);
  await ns.ip('link', 'set', stale, 'up');
  await ns.ip('link', 'add', 'dk0', 'type', 'veth', 'peer', 'name', 'dk1');
  await ns.ip('link', 'set', 'dk0', 'up');
  await ns.ip('addr', 'add', '10.1.0.1/24', 'dev', 'dk0');
  // stale: a guest that is gone, one with vif-route's metric, the running guest's address on the wrong vif
  await ns.ip('route', 'add', '172.20.216.9', 'dev', stale, 'src', DOM0);
  await ns.ip('route', 'add', '172.20.216.10', 'dev', stale, 'src', DOM0, 'metric', '2');
  await ns.ip('route', 'add', '172.20.216.5', 'dev', stale, 'metric', '7');
  // not domud's: outside the range, not a /32, not on a vif, not unicast
  await ns.ip('route', 'add', '10.7.7.7', 'dev', stale);
  await ns.ip('route', 'add', '172.20.216.128/28', 'dev', stale);
  await ns.ip('route', 'add', '172.20.216.77', 'dev', 'dk0');
  await ns.ip('route', 'add', 'blackhole', '172.20.216.99');
  await ns.ip('route', 'add', '172.20.216.66', 'dev', stale, 'table', '100');

  const changes = await routes.reconcile([g]);
  t.same(changes, [
    { action: 'remove', what: 'route', vif: 'vif2.0', address: '172.20.216.5', metric: 7 },
    { action: 'remove', what: 'route', vif: 'vif2.0', address: '172.20.216.9' },
    { action: 'remove', what: 'route', vif: 'vif2.0', address: '172.20.216.10', metric: 2 },
  ]);
  t.same(await ns.vifRoutes(), [
    '10.7.7.7 vif2.0 - 0',
    '172.20.216.128/28 vif2.0 - 0',
    '172.20.216.5 vif1.0 172.20.216.1 0',
  ]);
  t.ok((await ns.routes()).some((r) => r.dst === '172.20.216.77' && r.dev === 'dk0'), 'route on another device kept');
  t.ok((await ns.routes()).some((r) => r.dst === '172.20.216.99' && r.type === 'blackhole'), 'blackhole kept');
  t.equal((await ns.json('route', 'show', 'table', '100')).length, 1, 'other tables kept');
  t.same(await routes.reconcile([g]), [], 'then nothing to do');
});

nsTest(t, 'calls on one Routes run one at a time, in call order', async (t, ns) => {
  const routes = routesIn(ns);
  const g = { vif: await ns.vif(1), address: '172.20.216.5' };
  // reconcile([]) is called while up() is in flight: it must plan from the
  // kernel as up() left it, so it sees the new route and removes it.
  const [, changes, again] = await Promise.all([routes.up(g), routes.reconcile([]), routes.reconcile([g])]);
  t.same(changes, [{ action: 'remove', what: 'route', ...g }]);
  t.same(again, [{ action: 'add', what: 'route', ...g }]);
  t.same(await ns.vifRoutes(), ['172.20.216.5 vif1.0 172.20.216.1 0']);
  // A failed call does not stop the ones queued after it.
  const results = await Promise.allSettled([routes.up({ vif: 'vif9.0', address: '172.20.216.9' }), routes.down(g)]);
  t.match(results, [{ status: 'rejected', reason: { code: 'VifNotFound' } }, { status: 'fulfilled' }]);
  t.same(await ns.vifRoutes(), []);
});

nsTest(t, 'overlaps reports addresses and routes outside the vifs', async (t, ns) => {
  const routes = routesIn(ns);
  t.same(await routes.overlaps(), [], 'an empty namespace overlaps nothing');
  await routes.up({ vif: await ns.vif(1), address: '172.20.216.5' });
  t.same(await routes.overlaps(), [], 'our own vifs are not overlaps');
  // A Docker-like bridge on 172.20.0.0/16, an unrelated network, a default route and a blackhole.
  await ns.ip('link', 'add', 'docker0', 'type', 'veth', 'peer', 'name', 'dk1');
  await ns.ip('link', 'set', 'docker0', 'up');
  await ns.ip('addr', 'add', '172.20.0.1/16', 'dev', 'docker0');
  await ns.ip('addr', 'add', '192.168.5.1/24', 'dev', 'docker0');
  await ns.ip('addr', 'add', '172.20.216.200/32', 'dev', 'lo');
  await ns.ip('route', 'add', 'default', 'via', '192.168.5.254');
  await ns.ip('route', 'add', 'blackhole', '172.20.216.128/25');
  await ns.ip('route', 'add', '172.21.0.0/16', 'dev', 'docker0');
  t.same(await routes.overlaps(), [
    { kind: 'address', dev: 'lo', prefix: '172.20.216.200/32' },
    { kind: 'address', dev: 'docker0', prefix: '172.20.0.1/16' },
    { kind: 'route', dev: 'docker0', prefix: '172.20.0.0/16' },
    { kind: 'route', dev: null, prefix: '172.20.216.128/25' },
  ]);
});

nsTest(t, 'forwarding() reads ip_forward in the namespace', async (t, ns) => {
  const routes = routesIn(ns);
  t.equal(await routes.forwarding(), false);
  // The test (not domud) turns it on for a moment to see forwarding() follow.
  await ns.exec(['tee', '/proc/sys/net/ipv4/ip_forward'], '1\n');
  t.equal(await routes.forwarding(), true);
  await ns.exec(['tee', '/proc/sys/net/ipv4/ip_forward'], '0\n');
  t.equal(await routes.forwarding(), false);
});

nsTest(t, 'bad input is refused before anything runs', async (t, ns) => {
  const routes = routesIn(ns);
  const vif = await ns.vif(1);
  await routes.up({ vif, address: '172.20.216.5' });
  const before = JSON.stringify([await ns.json('addr', 'show'), await ns.routes()]);

  const badVifs: unknown[] = ['eth0', 'vif', 'vif1.0;reboot', 'vif1 0', 'vif1/0', '../vif1.0', 'vif1234567890123', '', 42, undefined];
  for (const v of badVifs) {
    await t.rejects(routes.up({ vif: v as string, address: '172.20.216.6' }), InvalidBindingError, `up vif ${String(v)}`);
    await t.rejects(routes.down({ vif: v as string, address: '172.20.216.5' }), { code: 'InvalidBinding', field: 'vif' });
  }
  const badAddresses: unknown[] = [
    '172.20.217.5', // outside
    '172.20.216.1', // dom0
    '172.20.216.0', // network
    '172.20.216.255', // broadcast
    '172.20.216.05', // leading zero
    '172.20.216.256',
    '172.20.216',
    '172.20.216.5/32',
    'fe80::1',
    ' 172.20.216.5',
    7,
  ];
  for (const a of badAddresses) {
    await t.rejects(routes.up({ vif, address: a as string }), { code: 'InvalidBinding', field: 'address' }, `up address ${String(a)}`);
  }
  await t.rejects(routes.up(null as never), { code: 'InvalidBinding', field: 'vif' });
  await t.rejects(
    routes.reconcile([{ vif, address: '172.20.216.5' }, { vif: 'vif2.0', address: '172.20.216.5' }]),
    { code: 'InvalidBinding', message: /bound to both vif1\.0 and vif2\.0/ },
  );
  await t.rejects(
    routes.reconcile([{ vif, address: '172.20.216.5' }, { vif, address: '172.20.216.5' }]),
    { code: 'InvalidBinding', message: /listed twice/ },
  );
  await t.rejects(routes.reconcile('vif1.0' as never), { code: 'InvalidBinding', field: 'bindings' });
  await t.rejects(routes.reconcile([{ vif, address: '172.20.216.6' }, { vif: 'eth0', address: '172.20.216.7' }]), InvalidBindingError);
  t.equal(JSON.stringify([await ns.json('addr', 'show'), await ns.routes()]), before, 'kernel state unchanged');
});

t.test('bad options are refused by the constructor', async (t) => {
  const bad: Array<[Record<string, unknown>, string]> = [
    [{ range: '172.20.216.0', dom0: DOM0 }, 'range'],
    [{ range: '172.20.216.0/33', dom0: DOM0 }, 'range'],
    [{ range: '172.20.216.0/31', dom0: DOM0 }, 'range'],
    [{ range: '172.20.216.0/0', dom0: DOM0 }, 'range'],
    [{ range: '172.20.216.1/24', dom0: DOM0 }, 'range'],
    [{ range: 'fd00::/64', dom0: DOM0 }, 'range'],
    [{ range: 7, dom0: DOM0 }, 'range'],
    [{ range: RANGE, dom0: '172.20.217.1' }, 'dom0'],
    [{ range: RANGE, dom0: '172.20.216.0' }, 'dom0'],
    [{ range: RANGE, dom0: '172.20.216.255' }, 'dom0'],
    [{ range: RANGE, dom0: 'dom0' }, 'dom0'],
    [{ range: RANGE, dom0: DOM0, netns: '-n' }, 'netns'],
    [{ range: RANGE, dom0: DOM0, netns: '../x' }, 'netns'],
    [{ range: RANGE, dom0: DOM0, netns: '' }, 'netns'],
    [{ range: RANGE, dom0: DOM0, ip: '' }, 'ip'],
  ];
  for (const [opts, field] of bad) {
    t.throws(() => new Routes(opts as never), NetConfigError, JSON.stringify(opts));
    t.throws(() => new Routes(opts as never), { code: 'NetConfigInvalid', field });
  }
  const r = new Routes({ range: '10.0.0.0/30', dom0: '10.0.0.1' });
  t.equal(r.range, '10.0.0.0/30');
  t.equal(r.dom0, '10.0.0.1');
  t.equal(r.netns, undefined);
});

t.test('ip failures are typed and carry argv and ip\'s message', async (t) => {
  const gone = new Routes({ range: RANGE, dom0: DOM0, netns: 'domud-test-does-not-exist' });
  const err = await gone.up({ vif: 'vif1.0', address: '172.20.216.5' }).catch((e: unknown) => e);
  t.type(err, IpCommandError);
  const e = err as IpCommandError;
  t.equal(e.code, 'IpCommandFailed');
  t.equal(e.argv[0], 'ip');
  t.same(e.argv.slice(1, 3), ['-n', 'domud-test-does-not-exist']);
  t.match(e.stderr, /Cannot open network namespace/);
  t.match(e.message, /failed \(status \d+\): Cannot open network namespace/);
  await t.rejects(gone.down({ vif: 'vif1.0', address: '172.20.216.5' }), IpCommandError);
  await t.rejects(gone.reconcile([]), IpCommandError);
  await t.rejects(gone.forwarding(), IpCommandError);
  await t.rejects(gone.overlaps(), IpCommandError);

  const missing = new Routes({ range: RANGE, dom0: DOM0, ip: '/nonexistent/ip' });
  await t.rejects(missing.overlaps(), { code: 'IpMissing', command: '/nonexistent/ip' });
  await t.rejects(missing.up({ vif: 'vif1.0', address: '172.20.216.5' }), IpMissingError);

  const echo = new Routes({ range: RANGE, dom0: DOM0, ip: '/bin/echo' });
  const out = await echo.overlaps().catch((e: unknown) => e);
  t.match(out, { code: 'IpOutputInvalid', name: 'IpOutputError', message: /^\/bin\/echo -j .*unexpected output/ });
  t.equal((out as { argv: string[] }).argv[0], '/bin/echo');
});
