// reconcile() when the kernel changes between its read and its writes: a vif
// that goes away, a stale route someone else already removed, a command that
// fails. The `ip` wrapper below runs the real command after a hook that does
// the interfering change for real in the test namespace.
import t from 'tap';
import * as realIp from '../../src/net/ip.js';
import type * as RoutesModule from '../../src/net/routes.js';
import { type Netns, nsTest } from './netns.js';

type Hook = (args: readonly string[]) => Promise<void>;
let hook: Hook = async () => undefined;

class HookedIp extends realIp.Ip {
  override async change(args: readonly string[]): Promise<void> {
    await hook(args);
    return super.change(args);
  }
}

// Under both names: tsx hands a TypeScript module's "./ip.js" to tap's mock
// hook as "./ip.ts" when that file exists.
const { Routes } = await t.mockImport<typeof RoutesModule>('../../src/net/routes.js', {
  '../../src/net/ip.js': { ...realIp, Ip: HookedIp },
  '../../src/net/ip.ts': { ...realIp, Ip: HookedIp },
});
const routesIn = (ns: Netns) => new Routes({ range: '172.20.216.0/24', dom0: '172.20.216.1', netns: ns.name });
t.afterEach(() => {
  hook = async () => undefined;
});

nsTest(t, 'a vif that goes away mid-reconcile is skipped, not an error', async (t, ns) => {
  const g1 = { vif: await ns.vif(1), address: '172.20.216.5' };
  const g2 = { vif: await ns.vif(2), address: '172.20.216.6' };
  const seen: string[] = [];
  hook = async (args) => {
    seen.push(args.join(' '));
    if (args.includes(g1.vif) && args[0] === 'addr') await ns.ip('link', 'del', g1.vif);
  };
  const changes = await routesIn(ns).reconcile([g1, g2]);
  t.same(changes, [
    { action: 'skip', what: 'vif', ...g1 },
    { action: 'add', what: 'address', ...g2 },
    { action: 'add', what: 'link', ...g2 },
    { action: 'add', what: 'proxy_arp', ...g2 },
    { action: 'add', what: 'route', ...g2 },
  ]);
  t.notOk(seen.some((c) => c.includes(g1.vif) && !c.startsWith('addr')), 'nothing more tried on the vanished vif');
  t.same(await ns.vifRoutes(), ['172.20.216.6 vif2.0 172.20.216.1 0']);
});

nsTest(t, 'a stale route removed by someone else meanwhile is not reported', async (t, ns) => {
  const vif = await ns.vif(3);
  await ns.ip('link', 'set', vif, 'up');
  await ns.ip('route', 'add', '172.20.216.9', 'dev', vif);
  await ns.ip('route', 'add', '172.20.216.10', 'dev', vif);
  hook = async (args) => {
    if (args[0] === 'route' && args[1] === 'del' && args[2] === '172.20.216.9/32') await ns.ip('route', 'del', '172.20.216.9', 'dev', vif);
  };
  t.same(await routesIn(ns).reconcile([]), [{ action: 'remove', what: 'route', vif, address: '172.20.216.10' }]);
  t.same(await ns.vifRoutes(), []);
});

nsTest(t, 'failed changes: the rest is still applied, then ReconcileError lists both', async (t, ns) => {
  const g1 = { vif: await ns.vif(1), address: '172.20.216.5' };
  const g2 = { vif: await ns.vif(2), address: '172.20.216.6' };
  hook = async (args) => {
    // A real failure from ip: the hook runs a command the kernel refuses.
    if (args[0] === 'link' && args[2] === g1.vif) await new realIp.Ip('ip', ns.name).exec(['link', 'set', g1.vif, 'mtu', '1']);
  };
  const err = await routesIn(ns).reconcile([g1, g2]).catch((e: unknown) => e);
  t.match(err, { code: 'ReconcileFailed', name: 'ReconcileError' });
  const r = err as InstanceType<typeof import('../../src/net/errors.js').ReconcileError>;
  // The link stays down, so the kernel refuses the route through it too.
  t.same(r.failures.map((f) => f.change), [
    { action: 'add', what: 'link', ...g1 },
    { action: 'add', what: 'route', ...g1 },
  ]);
  t.match(r.failures[0]!.error, { code: 'IpCommandFailed', argv: ['ip', '-n', ns.name, 'link', 'set', g1.vif, 'mtu', '1'], stderr: /mtu/ });
  t.match(r.failures[1]!.error, { code: 'IpCommandFailed', stderr: /not up/ });
  t.same(r.applied.map((c) => `${c.action} ${c.what} ${c.vif}`), [
    'add address vif1.0',
    'add proxy_arp vif1.0',
    'add address vif2.0',
    'add link vif2.0',
    'add proxy_arp vif2.0',
    'add route vif2.0',
  ]);
  t.same(await ns.vifRoutes(), ['172.20.216.6 vif2.0 172.20.216.1 0']);
  hook = async () => undefined;
  t.same(
    await routesIn(ns).reconcile([g1, g2]),
    [
      { action: 'add', what: 'link', ...g1 },
      { action: 'add', what: 'route', ...g1 },
    ],
    'the next pass finishes the job',
  );
  t.same(await ns.vifRoutes(), ['172.20.216.5 vif1.0 172.20.216.1 0', '172.20.216.6 vif2.0 172.20.216.1 0']);
});

nsTest(t, 'a stale route whose vif goes away before the delete is not reported', async (t, ns) => {
  const vif = await ns.vif(4);
  await ns.ip('link', 'set', vif, 'up');
  await ns.ip('route', 'add', '172.20.216.40', 'dev', vif);
  hook = async (args) => {
    if (args[0] === 'route' && args[1] === 'del') await ns.ip('link', 'del', vif);
  };
  t.same(await routesIn(ns).reconcile([]), []);
  t.same(await ns.vifRoutes(), []);
});

nsTest(t, 'down: a vif gone before the address delete is fine; other failures are not swallowed', async (t, ns) => {
  const routes = routesIn(ns);
  const g = { vif: await ns.vif(5), address: '172.20.216.50' };
  await routes.up(g);
  hook = async (args) => {
    if (args[0] === 'addr' && args[1] === 'del') await ns.ip('link', 'del', g.vif);
  };
  await routes.down(g);
  t.equal(await ns.link(g.vif), undefined);

  const h = { vif: await ns.vif(6), address: '172.20.216.60' };
  hook = async () => undefined;
  await routes.up(h);
  hook = async (args) => {
    if (args[0] === 'addr' && args[1] === 'del') await new realIp.Ip('ip', ns.name).exec(['addr', 'del', '172.20.216.1/32', 'dev', 'vif6.0', 'bogus']);
  };
  await t.rejects(routes.down(h), { code: 'IpCommandFailed', argv: /bogus/ });
  t.same(await ns.vifRoutes(), [], 'the route went before the failure');
});

nsTest(t, 'down: the route or the vif going away under it is fine; other failures are not swallowed', async (t, ns) => {
  const routes = routesIn(ns);
  const a = { vif: await ns.vif(1), address: '172.20.216.11' };
  const b = { vif: await ns.vif(2), address: '172.20.216.12' };
  const c = { vif: await ns.vif(3), address: '172.20.216.13' };
  for (const g of [a, b, c]) await routes.up(g);
  const realDel = (args: readonly string[]) => args[0] === 'route' && args[1] === 'del';

  hook = async (args) => {
    if (realDel(args)) await ns.ip('route', 'del', `${a.address}/32`, 'dev', a.vif);
  };
  await routes.down(a);
  t.same((await ns.link(a.vif))?.inet, [], 'route removed by someone else: the address still goes');

  hook = async (args) => {
    if (realDel(args)) await ns.ip('link', 'del', b.vif);
  };
  await routes.down(b);
  t.equal(await ns.link(b.vif), undefined);

  hook = async (args) => {
    if (realDel(args)) await new realIp.Ip('ip', ns.name).exec(['route', 'del', `${c.address}/32`, 'dev', c.vif, 'table', '12345']);
  };
  await t.rejects(routes.down(c), { code: 'IpCommandFailed', stderr: /FIB table does not exist/ });
  t.same(await ns.vifRoutes(), ['172.20.216.13 vif3.0 172.20.216.1 0'], 'nothing removed after the failure');
});
