// The pure parts of src/net: IPv4 parsing, reading ip's JSON, the
// reconcile plan, and the error classes' messages.
import t from 'tap';
import { IpCommandError, ReconcileError, SysctlError, VifNotFoundError } from '../../src/net/index.js';
import { failureOf, Ip, run } from '../../src/net/ip.js';
import { formatAddress, maskOf, overlap, parseAddress, parseCidr } from '../../src/net/ipv4.js';
import { dom0Devices, parseLinks, parseProxyArp, parseRoutes } from '../../src/net/kernel.js';
import { planGuest, planRoutes, unsettled } from '../../src/net/plan.js';
import { checkVifRoutes, checkNetwork, type Guest } from '../../src/net/validate.js';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { netnsSysctl } from '../../src/net/sysctl.js';

t.test('ipv4', async (t) => {
  t.equal(parseAddress('172.20.216.1'), 0xac14d801);
  t.equal(parseAddress('0.0.0.0'), 0);
  t.equal(parseAddress('255.255.255.255'), 0xffffffff);
  for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1.2.3.-1', '1.2.3.4 ', 'a.b.c.d', '']) {
    t.equal(parseAddress(bad), undefined, bad);
  }
  t.equal(parseAddress(7 as never), undefined);
  t.equal(formatAddress(0xac14d801), '172.20.216.1');
  t.equal(maskOf(0), 0);
  t.equal(maskOf(24), 0xffffff00);
  t.equal(maskOf(32), 0xffffffff);
  t.same(parseCidr('10.0.0.0/8'), { address: 0x0a000000, prefix: 8 });
  t.same(parseCidr('10.0.0.5'), { address: 0x0a000005, prefix: 32 });
  t.equal(parseCidr('10.0.0.0/33'), undefined);
  t.equal(parseCidr('10.0.0.0/08'), undefined);
  t.equal(parseCidr('default'), undefined);
  t.ok(overlap({ network: 0xac140000, prefix: 16 }, { network: 0xac14d800, prefix: 24 }));
  t.ok(overlap({ network: 0xac14d805, prefix: 32 }, { network: 0xac14d800, prefix: 24 }));
  t.notOk(overlap({ network: 0xac150000, prefix: 16 }, { network: 0xac14d800, prefix: 24 }));
});

t.test('parsing ip -j output skips what is not IPv4 or not shaped as documented', async (t) => {
  const links = parseLinks([
    null,
    { ifname: 7 },
    { ifname: 'lo' },
    {
      ifname: 'vif1.0',
      flags: ['BROADCAST', 'UP'],
      addr_info: [
        { family: 'inet', local: '172.20.216.1', prefixlen: 32 },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
        { family: 'inet', local: 'bogus', prefixlen: 32 },
        { family: 'inet', local: '10.0.0.1' },
        { family: 'inet', local: 5 },
        null,
      ],
    },
  ]);
  t.same([...links.keys()], ['lo', 'vif1.0']);
  t.same(links.get('lo'), { name: 'lo', up: false, inet: [] });
  t.same(links.get('vif1.0'), { name: 'vif1.0', up: true, inet: [{ local: 0xac14d801, prefix: 32 }] });

  t.same(
    parseRoutes([
      null,
      { dst: 'default', gateway: '10.0.0.1', dev: 'eth0' },
      { dst: 'fe80::/64', dev: 'eth0' },
      { dev: 'eth0' },
      { dst: '172.20.216.5', dev: 'vif1.0', prefsrc: '172.20.216.1', metric: 2 },
      { type: 'blackhole', dst: '10.0.0.0/8' },
    ]),
    [
      { dst: 0xac14d805, prefix: 32, dev: 'vif1.0', prefsrc: 0xac14d801, metric: 2, type: 'unicast', table: 'main' },
      { dst: 0x0a000000, prefix: 8, dev: null, prefsrc: undefined, metric: 0, type: 'blackhole', table: 'main' },
    ],
  );

  t.same(
    [
      ...parseProxyArp([
        null,
        { family: 'inet6', interface: 'a', proxy_neigh: true },
        { family: 'inet', interface: 7, proxy_neigh: true },
        { family: 'inet', interface: 'b', proxy_neigh: true },
        { family: 'inet', interface: 'c', proxy_neigh: 'on' },
        { family: 'inet', interface: 'd', proxy_neigh: false },
        { family: 'inet', interface: 'e', proxy_neigh: 'off' },
      ]),
    ],
    ['b', 'c'],
  );
});

t.test('plan: stale routes, settled guests, and what an unsettled guest lacks', async (t) => {
  const net = checkNetwork('172.20.216.0/24', '172.20.216.1');
  const guests = checkVifRoutes(net, [
    { vif: 'vif1.0', address: '172.20.216.5' },
    { vif: 'vif2.0', address: '172.20.216.6' },
    { vif: 'vif3.0', address: '172.20.216.7' },
  ]);
  const [g1, g2, g3] = guests as [Guest, Guest, Guest];
  const dom0 = net.dom0;
  const routes = planRoutes(net, [
    { dst: g1.addr, prefix: 32, dev: 'vif1.0', prefsrc: dom0, metric: 0, type: 'unicast', table: 'main' },
    { dst: g2.addr, prefix: 32, dev: 'vif2.0', prefsrc: dom0, metric: 2, type: 'unicast', table: 'main' }, // vif-route's: kept, but not ours
    { dst: g2.addr, prefix: 32, dev: 'vif9.0', prefsrc: dom0, metric: 0, type: 'unicast', table: 'main' },
    { dst: g3.addr, prefix: 32, dev: 'vif3.0', prefsrc: undefined, metric: 0, type: 'unicast', table: 'main' }, // wrong src
  ], guests);
  t.same(routes.removals, [{ action: 'remove', what: 'route', vif: 'vif9.0', address: '172.20.216.6' }]);
  t.same([...routes.present], [`vif1.0 ${g1.addr}`]);
  t.same(unsettled(routes, new Set(['vif1.0', 'vif2.0', 'vif3.0']), guests), [g2, g3], 'route missing');
  t.same(unsettled(routes, new Set(['vif2.0']), [g1]), [g1], 'dom0 address missing');
  t.same(unsettled(routes, new Set(['vif1.0']), [g1]), [], 'settled');

  const links = new Map([
    ['vif1.0', { name: 'vif1.0', up: true, inet: [{ local: dom0, prefix: 32 }] }],
    ['vif2.0', { name: 'vif2.0', up: false, inet: [{ local: dom0 + 1, prefix: 32 }] }],
    ['vif3.0', { name: 'vif3.0', up: true, inet: [{ local: dom0, prefix: 24 }] }],
  ]);
  const proxy = new Set(['vif1.0', 'vif3.0']);
  t.same(planGuest(net, links, proxy, routes, g1), [], 'nothing missing');
  t.same(planGuest(net, links, proxy, routes, g2).map((c) => c.what), ['address', 'link', 'proxy_arp', 'route']);
  t.same(planGuest(net, links, proxy, routes, g3).map((c) => c.what), ['route'], 'dom0 with another prefix counts as there');
  t.same(planGuest(net, new Map(), proxy, routes, g1), [{ action: 'skip', what: 'vif', vif: 'vif1.0', address: '172.20.216.5' }]);
});

t.test('dom0Devices: devices holding dom0, from the local table', async (t) => {
  const dom0 = parseAddress('172.20.216.1')!;
  const routes = parseRoutes([
    { type: 'local', dst: '172.20.216.1', dev: 'vif1.0', table: 'local' },
    { type: 'local', dst: '172.20.216.2', dev: 'vif2.0', table: 'local' },
    { type: 'broadcast', dst: '172.20.216.1', dev: 'vif3.0', table: 'local' },
    { type: 'local', dst: '172.20.216.1', dev: 'vif4.0' },
    { type: 'local', dst: '172.20.216.1', table: 'local' },
  ]);
  t.equal(routes[3]!.table, 'main', 'no table field means main');
  t.same([...dom0Devices(routes, dom0)], ['vif1.0']);
});

t.test('failureOf tells "already so" from real failures', async (t) => {
  const ip = new Ip('ip', 'domud-test-does-not-exist');
  const err = await ip.exec(['link', 'show']).catch((e: unknown) => e);
  t.equal(failureOf(err), 'other');
  t.equal(failureOf(new Error('Cannot find device "vif1.0"')), 'other', 'only IpCommandError counts');
});

t.test('ip -j output that is JSON but not an array is refused', async (t) => {
  // A stand-in for `ip`, for this one check: valid JSON, not the array ip -j documents.
  const dir = t.testdir({ ip: '#!/bin/sh\necho \'{"ifname":"vif1.0"}\'\n' });
  chmodSync(join(dir, 'ip'), 0o755);
  await t.rejects(new Ip(join(dir, 'ip')).json(['addr', 'show']), { code: 'IpOutputInvalid', message: /expected a JSON array/ });
});

t.test('run: input to a command that does not read it is not an error of its own', async (t) => {
  // More than a pipe buffer, so the write is still pending when `true` exits: EPIPE.
  t.equal(await run(['true'], 'x'.repeat(1 << 20)), '');
  await t.rejects(run(['false'], 'x'.repeat(1 << 20)), { code: 'IpCommandFailed', status: 1 });
});

t.test('netns sysctl: a missing namespace is an IpCommandError, not a missing vif', async (t) => {
  const sysctl = netnsSysctl(new Ip('ip', 'domud-test-does-not-exist'), 'domud-test-does-not-exist');
  await t.rejects(sysctl.enableProxyArp('vif1.0'), { code: 'IpCommandFailed', stderr: /Cannot open network namespace/ });
});

t.test('error messages name what failed', async (t) => {
  const cause = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  const s = new SysctlError('/proc/sys/net/ipv4/conf/vif1.0/proxy_arp', { cause });
  t.equal(s.code, 'SysctlFailed');
  t.equal(s.message, 'cannot access /proc/sys/net/ipv4/conf/vif1.0/proxy_arp: EACCES: permission denied');
  t.equal(new SysctlError('/x').message, 'cannot access /x: unknown error');
  const change = { action: 'add', what: 'route', vif: 'vif1.0', address: '172.20.216.5' } as const;
  const r = new ReconcileError([change], [{ change, error: new VifNotFoundError('vif2.0') }]);
  t.equal(r.code, 'ReconcileFailed');
  t.equal(r.name, 'ReconcileError');
  t.equal(r.message, 'reconcile: 1 change(s) failed, 1 applied; first: interface vif2.0 does not exist');
  const killed = new IpCommandError(['ip', 'route', 'show'], null, '  ');
  t.equal(killed.message, 'ip route show failed (killed): no message');
  t.equal(new IpCommandError(['ip', 'x'], 255, 'Object "x" is unknown, try "ip help".\n').message, 'ip x failed (status 255): Object "x" is unknown, try "ip help".');
  t.equal(new ReconcileError([], []).message, 'reconcile: 0 change(s) failed, 0 applied; first: none');
});
