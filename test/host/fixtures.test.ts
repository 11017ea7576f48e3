// checkHost on the four fixture trees: a plain install, a good dom0, a
// half-converted one and a 32-bit TLS case. Each check's verdict and the words
// of its message (what is wrong, what to do) are asserted.
import t, { type Test } from 'tap';
import { appendFileSync, cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkHost, DEFAULT_GRUB_SETTINGS, generateXenEntries, type Check, type HostCheckOptions } from '../../src/host/index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const RANGE = '172.20.216.0/24';

async function run(name: string, extra: Partial<HostCheckOptions> = {}): Promise<Map<string, Check>> {
  const checks = await checkHost({ root: fixture(name), range: RANGE, ...extra });
  return new Map(checks.map((c) => [c.id, c]));
}

function expect(t: Test, got: Map<string, Check>, id: string, status: Check['status'], ...words: (string | RegExp)[]): void {
  const c = got.get(id);
  t.equal(c?.status, status, `${id} is ${status}`);
  for (const w of words) t.match(c?.message, w, `${id} message says ${w}`);
}

t.test('every check runs once, in a stable order', async (t) => {
  const checks = await checkHost({ root: fixture('plain'), range: RANGE });
  t.same(
    checks.map((c) => c.id),
    ['hypervisor', 'toolstack', 'xen-boot-files', 'xen-kernels', 'boot-entries', 'tls-libc', 'range', 'forwarding', 'xend-network-script', 'vif-route'],
  );
});

t.test('plain Debian install: no Xen anywhere, says what to install', async (t) => {
  const c = await run('plain');
  expect(t, c, 'hypervisor', 'error', 'not running under Xen', 'with Xen');
  expect(t, c, 'toolstack', 'error', 'no Xen toolstack', 'apt install xen-utils-4.17');
  expect(t, c, 'xen-boot-files', 'error', 'no Xen hypervisor', 'apt install xen-system-amd64');
  expect(t, c, 'xen-kernels', 'ok', 'vmlinuz-6.1.0-18-amd64');
  expect(t, c, 'boot-entries', 'error', '/boot/grub/grub.cfg', 'hypervisor and a dom0 kernel', 'update-grub');
  expect(t, c, 'tls-libc', 'ok', 'amd64', 'only affects 32-bit');
  expect(t, c, 'range', 'ok', 'clashes with no host address or route');
  expect(t, c, 'forwarding', 'ok', 'off');
  expect(t, c, 'xend-network-script', 'ok', 'no /etc/xen/xend-config.sxp');
  expect(t, c, 'vif-route', 'warning', 'no /etc/xen/scripts/vif-route', 'script=vif-route', 'install xen-utils-common');
});

t.test('good dom0: all ok with the daemon\'s probes', async (t) => {
  const c = await run('good-dom0', { toolstack: { kind: 'xl', answering: true }, forwarding: false, overlaps: [] });
  for (const [id, check] of c) t.equal(check.status, 'ok', `${id}: ${check.message}`);
  expect(t, c, 'hypervisor', 'ok', 'dom0');
  expect(t, c, 'toolstack', 'ok', 'xl answers');
  expect(t, c, 'xen-boot-files', 'ok', 'xen-4.17-amd64.gz');
  t.notMatch(c.get('xen-boot-files')?.message, 'xen-syms', 'xen-syms and .config are not hypervisors');
  t.notMatch(c.get('xen-boot-files')?.message, '.config');
  expect(t, c, 'boot-entries', 'ok', 'Debian GNU/Linux, with Xen hypervisor');
  expect(t, c, 'xend-network-script', 'ok', 'does not run network-route');
  expect(t, c, 'vif-route', 'ok', 'installed');
});

t.test('good dom0 read from its files alone: the vif route in the range is not a clash', async (t) => {
  const c = await run('good-dom0');
  expect(t, c, 'range', 'ok');
  expect(t, c, 'forwarding', 'ok');
  expect(t, c, 'toolstack', 'warning', '/usr/sbin/xl', 'not asked', 'xl info');
});

t.test('half-converted: Xen installed but not bootable, forwarding on', async (t) => {
  const c = await run('half-converted');
  expect(t, c, 'hypervisor', 'error', 'not running under Xen');
  expect(t, c, 'xen-boot-files', 'ok', 'xen-4.17-amd64.gz');
  expect(t, c, 'xen-kernels', 'ok', 'vmlinuz-6.1.0-18-amd64');
  expect(t, c, 'boot-entries', 'error', 'no entry that boots Xen 4.17-amd64 with Linux 6.1.0-18-amd64', 'run update-grub', '21_domud_xen');
  expect(t, c, 'range', 'error', 'route 172.20.0.0/16 on br-5e1a', 'Range=', 'default-address-pools');
  expect(t, c, 'forwarding', 'warning', 'forwarding is on', 'never turns it on', 'sysctl -w net.ipv4.ip_forward=0', '/etc/sysctl.d/99-docker.conf');
  t.notMatch(c.get('forwarding')?.message, '/etc/sysctl.conf', 'a commented setting is not named');
  expect(t, c, 'xend-network-script', 'error', 'line 2', 'turns IP forwarding on', 'comment out');
});

t.test('half-converted with the daemon\'s network facts', async (t) => {
  const c = await run('half-converted', {
    forwarding: true,
    overlaps: [
      { kind: 'address', dev: 'docker0', prefix: '172.20.0.1/16' },
      { kind: 'route', dev: null, prefix: '172.20.216.0/24' },
    ],
  });
  expect(t, c, 'range', 'error', 'address 172.20.0.1/16 on docker0, route 172.20.216.0/24:');
  expect(t, c, 'forwarding', 'warning', '99-docker.conf');
});

t.test('32-bit Edgy dom0: the TLS libc problem, GRUB legacy menu, xm', async (t) => {
  const c = await run('tls-i386', { toolstack: { kind: 'xm', answering: false, error: 'Error: Unable to connect to xend: No such file or directory.' } });
  expect(t, c, 'hypervisor', 'ok', 'dom0');
  expect(t, c, 'toolstack', 'error', 'xm is installed', 'Unable to connect to xend', 'start xend');
  expect(t, c, 'xen-boot-files', 'ok', 'xen-3.0.3-1-i386-pae.gz');
  expect(t, c, 'xen-kernels', 'warning', 'vmlinuz-2.6.17-10-xen', 'by name only', 'config-<version>');
  t.notMatch(c.get('xen-kernels')?.message, 'generic', 'a kernel without Xen is not listed');
  expect(t, c, 'boot-entries', 'ok', '/boot/grub/menu.lst', 'Xen 3.0.3-1-i386-pae / Ubuntu, kernel 2.6.17-10-xen');
  expect(t, c, 'tls-libc', 'error', 'i386', '/lib/tls/i686/cmov/libc.so.6', 'apt install libc6-xen', 'mv /lib/tls /lib/tls.disabled');
  expect(t, c, 'xend-network-script', 'ok');
});

t.test('the TLS case on a 64-bit machine given as arch is fine', async (t) => {
  const c = await run('tls-i386', { arch: 'x86_64' });
  expect(t, c, 'tls-libc', 'ok', 'x86_64');
});

t.test('half-converted after update-grub with domud\'s entries: boot-entries turns ok', async (t) => {
  const dir = t.testdir({});
  cpSync(fixture('half-converted'), dir, { recursive: true });
  const { script } = await generateXenEntries(dir, { ...DEFAULT_GRUB_SETTINGS, rootDevice: 'UUID=0b1c', dom0Options: 'quiet' });
  appendFileSync(`${dir}/boot/grub/grub.cfg`, `### BEGIN /etc/grub.d/21_domud_xen ###\n${script}### END /etc/grub.d/21_domud_xen ###\n`);
  const c = new Map((await checkHost({ root: dir, range: RANGE })).map((x) => [x.id, x]));
  expect(t, c, 'boot-entries', 'ok', 'Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-18-amd64');
});
