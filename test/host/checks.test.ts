// The host checks one by one, on small trees made for each case.
import t, { type Test } from 'tap';
import { chmodSync } from 'node:fs';
import { Root } from '../../src/host/fsroot.js';
import { checkHypervisor } from '../../src/host/checks/hypervisor.js';
import { checkToolstack } from '../../src/host/checks/toolstack.js';
import { checkBootEntries, checkBootFiles, checkKernels } from '../../src/host/checks/boot.js';
import { checkTls, is32BitX86 } from '../../src/host/checks/tls.js';
import { checkForwarding, checkRange, checkVifRoute, checkXendNetworkScript, parseCidr, routesOverlapping } from '../../src/host/checks/network.js';
import { findHypervisors, findXenKernels, isGarbage } from '../../src/host/boot.js';
import { parseGrubCfg, parseMenuLst, readBootMenu } from '../../src/host/bootmenu.js';

type Tree = Parameters<typeof t.testdir>[0];
const tree = (t: Test, files: Tree): Root => new Root(t.testdir(files));

t.test('hypervisor', async (t) => {
  const none = await checkHypervisor(tree(t, {}));
  t.match(none, { status: 'error', message: /not running under Xen/ });
  const kvm = await checkHypervisor(tree(t, { sys: { hypervisor: { type: 'kvm\n' } } }));
  t.match(kvm, { status: 'error', message: /running under kvm, not Xen/ });
  const noXenfs = await checkHypervisor(tree(t, { sys: { hypervisor: { type: 'xen\n' } } }));
  t.match(noXenfs, { status: 'warning', message: /mount -t xenfs xenfs \/proc\/xen/ });
  const domU = await checkHypervisor(tree(t, { sys: { hypervisor: { type: 'xen' } }, proc: { xen: { capabilities: '' } } }));
  t.match(domU, { status: 'error', message: /guest \(domU\), not as dom0/ });
  const dom0 = await checkHypervisor(tree(t, { sys: { hypervisor: { type: 'xen' } }, proc: { xen: { capabilities: 'control_d\n' } } }));
  t.match(dom0, { status: 'ok', message: 'running as dom0 under Xen' });
});

t.test('toolstack', async (t) => {
  const empty = tree(t, {});
  t.match(await checkToolstack(empty, null), { status: 'error', message: /no Xen toolstack.*apt install/ });
  t.match(await checkToolstack(empty, { kind: 'xl', answering: true }), { status: 'ok', message: /xl answers/ });
  t.match(await checkToolstack(empty, { kind: 'xl', answering: false }), { status: 'error', message: /`xl info` failed; .*systemctl start xencommons/ });
  t.match(await checkToolstack(empty, { kind: 'xl', answering: false, error: 'xc: error: Could not obtain handle' }), {
    status: 'error',
    message: /failed: xc: error: Could not obtain handle; boot into Xen/,
  });
  t.match(await checkToolstack(empty, undefined), { status: 'error', message: /in \/usr\/sbin or \/usr\/bin/ });
  const dir = t.testdir({ usr: { bin: { xm: '#!/bin/sh\n', xl: 'not executable' } } });
  chmodSync(`${dir}/usr/bin/xm`, 0o755);
  t.match(await checkToolstack(new Root(dir), undefined), { status: 'warning', message: /xm found at \/usr\/bin\/xm/ }, 'a non-executable xl does not count');
});

t.test('boot files and kernels', async (t) => {
  const root = tree(t, {
    boot: {
      'xen.gz': '',
      'xen-4.4.1.gz': '',
      'xen-4.17-amd64.gz': '',
      'xen-4.17-amd64.config': '',
      'xen-syms-4.17-amd64.gz': '',
      'xenpolicy-4.17.gz': '',
      'xen-4.17-amd64.gz.dpkg-bak': '',
      'xen-4.10.gz': { 'not-a-file': '' },
      'vmlinuz-6.1.0-18-amd64': '',
      'config-6.1.0-18-amd64': 'CONFIG_XEN_DOM0=y\n',
      'vmlinux-2.6.18-xen-686': '',
      'config-2.6.18-xen-686': '# CONFIG_XEN_DOM0 is not set\nCONFIG_XEN_PRIVILEGED_GUEST=y\n',
      'kernel-5.4-domU': '',
      'config-5.4-domU': 'CONFIG_XEN=y\n',
      'vmlinuz-5.4-xenish': '',
      'vmlinuz-2.6.16-xen': '',
      'initrd-2.6.16-xen.img': '',
      'vmlinuz-6.1.0-18-amd64.dpkg-tmp': '',
      'vmlinuz-6.1.0-18-amd64.sig': '',
      'README.vmlinuz-1': '',
    },
  });
  const hv = await findHypervisors(root);
  t.same(hv.map((h) => h.version), ['xen', '4.17-amd64', '4.4.1'], 'newest first (dpkg order: a bare name sorts after numbers); syms, config, policy, backups and directories left out');
  const k = await findXenKernels(root);
  t.same(
    k.map((x) => [x.file, x.reason, x.initrd]),
    [
      ['vmlinuz-6.1.0-18-amd64', 'config', null],
      ['vmlinux-2.6.18-xen-686', 'config', null],
      ['vmlinuz-2.6.16-xen', 'name', 'initrd-2.6.16-xen.img'],
    ],
  );
  t.ok(isGarbage('x.rpmnew') && isGarbage('x.rpmsave') && isGarbage('x~') && !isGarbage('xen-4.17.gz'));
  t.match(checkBootFiles([]), { status: 'error' });
  t.match(checkKernels([]), { status: 'error', message: /CONFIG_XEN_DOM0=y.*linux-image-amd64/ });
  t.match(checkKernels(k.slice(0, 2)), { status: 'ok', message: 'dom0 kernel in /boot: vmlinuz-6.1.0-18-amd64, vmlinux-2.6.18-xen-686' });
});

t.test('boot entries', async (t) => {
  const hv = [{ file: 'xen-4.17-amd64.gz', version: '4.17-amd64' }];
  const k = [
    { file: 'vmlinuz-6.1.0-18-amd64', version: '6.1.0-18-amd64', reason: 'config' as const, initrd: null },
    { file: 'vmlinuz-6.1.0-9-amd64', version: '6.1.0-9-amd64', reason: 'config' as const, initrd: null },
  ];
  t.match(checkBootEntries(null, hv, k), { status: 'error', message: /no boot menu found.*grub-pc/ });
  const menu = { file: '/boot/grub/grub.cfg', entries: [{ title: 'x', hypervisor: 'xen-4.17-amd64.gz', kernel: 'vmlinuz-6.1.0-18-amd64' }] };
  t.match(checkBootEntries(menu, hv, k), { status: 'warning', message: /no Xen entry for Linux 6.1.0-9-amd64: run update-grub/ });
  t.match(checkBootEntries(menu, [], k), { status: 'error', message: /cannot boot Xen until/ });
  const stale = { file: '/boot/grub/grub.cfg', entries: [{ title: 'old', hypervisor: 'xen-4.11-amd64.gz', kernel: 'vmlinuz-6.1.0-18-amd64' }] };
  t.match(checkBootEntries(stale, hv, k), { status: 'error', message: /no entry that boots Xen 4.17-amd64/ }, 'an entry for a hypervisor that is gone does not count');
});

t.test('boot menu parsing', async (t) => {
  const cfg = [
    '# comment',
    '',
    'submenu \'Xen\' {',
    "  menuentry 'A '\\''q'\\''' {",
    '\txen_hypervisor "/xen-4.17.gz" dom0_mem=1G',
    '\txen_module --type=kernel /vmlinuz-6.1',
    '\txen_module /initrd.img-6.1',
    '  }',
    '}',
    'multiboot /boot/xen-stray.gz',
    "menuentry Plain\\ one {",
    '\tlinux /vmlinuz-6.1 root=/dev/sda1',
    '\tmodule2',
    '}',
    'menuentry',
  ].join('\n');
  t.same(parseGrubCfg(cfg), [
    { title: "A 'q'", hypervisor: 'xen-4.17.gz', kernel: 'vmlinuz-6.1' },
    { title: 'Plain one', hypervisor: null, kernel: null },
    { title: '', hypervisor: null, kernel: null },
  ]);
  const lst = ['# title commented', 'kernel /boot/xen-0.gz', 'title=Xen', 'kernel=/boot/xen-3.0.gz dom0_mem=256M', 'module /boot/vmlinuz-2.6.18-xen', 'module /boot/initrd', 'title Linux', 'kernel /boot/vmlinuz-2.6.18', 'module'].join('\n');
  t.same(parseMenuLst(lst), [
    { title: 'Xen', hypervisor: 'xen-3.0.gz', kernel: 'vmlinuz-2.6.18-xen' },
    { title: 'Linux', hypervisor: null, kernel: null },
  ]);
  t.equal(await readBootMenu(tree(t, {})), null);
});

t.test('tls libc', async (t) => {
  const tls = { lib: { tls: { 'libc.so.6': '' } } };
  t.match(await checkTls(tree(t, {}), undefined), { status: 'warning', message: /could not tell the architecture/ });
  t.match(await checkTls(tree(t, tls), 'i686'), { status: 'error', message: /\/lib\/tls\/libc.so.6.*libc6-xen/ });
  const fixed = tree(t, {
    ...tls,
    lib: { ...tls.lib, 'i386-linux-gnu': { i686: { nosegneg: { 'libc.so.6': '' } } } },
    etc: { 'ld.so.conf.d': { 'libc6-xen.conf': '# for Xen\nhwcap 1 nosegneg\n', 'README': 'hwcap 1 nosegneg\n' } },
  });
  t.match(await checkTls(fixed, 'i386'), { status: 'ok', message: /nosegneg libc \/lib\/i386-linux-gnu\/i686\/nosegneg\/libc.so.6 is installed and enabled/ });
  const half = tree(t, { lib: { ...tls.lib, i686: { nosegneg: { 'libc.so.6': '' } } }, etc: { 'ld.so.conf.d': { 'README': 'hwcap 1 nosegneg\n', 'x.conf': '/usr/local/lib\n', 'dir.conf': {} } } });
  t.match(await checkTls(half, 'i386'), { status: 'warning', message: /no \/etc\/ld.so.conf.d\/\*.conf has "hwcap 1 nosegneg".*apt install --reinstall libc6-xen/ });
  t.match(await checkTls(tree(t, { var: { lib: { dpkg: { arch: 'i386\namd64\n' } } } }), undefined), { status: 'ok', message: /no \/lib\/tls libc/ });
  const here = await checkTls(new Root('/'), undefined);
  t.equal(here.status, is32BitX86(here.message.split(' ')[0]!) ? here.status : 'ok', 'this machine: judged by uname');
  t.ok(is32BitX86('i386') && is32BitX86('i586') && !is32BitX86('amd64') && !is32BitX86('i786'));
});

t.test('range', async (t) => {
  const empty = tree(t, {});
  t.match(await checkRange(empty, '172.20.216.0/33', []), { status: 'error', message: /not an IPv4 CIDR/ });
  t.match(await checkRange(empty, '172.20.300.0/24', []), { status: 'error' });
  t.match(await checkRange(empty, 'fd00::/64', []), { status: 'error' });
  t.match(await checkRange(empty, '172.20/16', []), { status: 'error' });
  t.match(await checkRange(empty, '172.20.216.0/24', undefined), { status: 'warning', message: /could not read the host's routes/ });
  t.same(parseCidr('10.1.2.3/8'), { base: 0x0a000000, prefix: 8 });
  t.same(parseCidr('0.0.0.0/0'), { base: 0, prefix: 0 });
  const table = [
    'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT',
    'eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    'docker0\t000014AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    'eth1\t00D814AC\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    '*\t80D814AC\t00000000\t0201\t0\t0\t0\t80FFFFFF\t0\t0\t0',
    'vif7.0\t07D814AC\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0',
    'eth0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0',
    'short line',
    '',
  ].join('\n');
  t.same(routesOverlapping(table, parseCidr('172.20.216.0/24')!), [
    { kind: 'route', dev: 'docker0', prefix: '172.20.0.0/16' },
    { kind: 'route', dev: null, prefix: '172.20.216.128/25' },
  ], 'default route, down routes, vifs and other networks are left out');
});

t.test('forwarding', async (t) => {
  t.match(await checkForwarding(tree(t, {}), undefined), { status: 'warning', message: /could not read \/proc\/sys\/net\/ipv4\/ip_forward/ });
  t.match(await checkForwarding(tree(t, {}), true), { status: 'warning', message: /find what turns it on/ });
  const set = tree(t, { etc: { 'sysctl.conf': 'net/ipv4/ip_forward=1\n', 'sysctl.d': { 'a.conf': 'net.ipv4.ip_forward=0\n', 'b.txt': 'net.ipv4.ip_forward=1\n' } } });
  t.match(await checkForwarding(set, true), { status: 'warning', message: /from \/etc\/sysctl.conf$/ });
  t.match(await checkForwarding(tree(t, { proc: { sys: { net: { ipv4: { ip_forward: '0\n' } } } } }), undefined), { status: 'ok' });
});

t.test('xend network-script and vif-route', async (t) => {
  const quoted = tree(t, { etc: { xen: { 'xend-config.sxp': "(xend-http-server no)\n\n  (network-script 'network-route netdev=eth1')\n" } } });
  t.match(await checkXendNetworkScript(quoted), { status: 'error', message: /line 3 runs network-route/ });
  const bridge = tree(t, { etc: { xen: { 'xend-config.sxp': '(network-script network-bridge)\n# (network-script network-route)\n' } } });
  t.match(await checkXendNetworkScript(bridge), { status: 'ok' });
  t.match(await checkVifRoute(tree(t, { etc: { xen: { scripts: { 'vif-route': { dir: {} } } } } })), { status: 'warning' }, 'a directory is not the script');
});
