import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, parseConfig } from '../../src/daemon/config.js';

const dir = mkdtempSync(join(tmpdir(), 'domud-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

t.test('defaults are the contract\'s', async (t) => {
  const c = parseConfig('', null);
  t.same(c.network, { range: '172.20.216.0/24' });
  t.same(c.toolstack, { command: 'auto', timeoutSeconds: 60 });
  t.same(c.domains, { kernel: '/boot/vmlinuz-xen', ramdisk: '', memory: 128, vcpus: 1 });
  t.same(c.daemon, { stateDirectory: '/var/lib/domud', group: '', polkit: true, reconcileSeconds: 5, logLevel: 'info' });
});

t.test('every key is read', async (t) => {
  const c = parseConfig(
    `[Network]\nRange=10.9.0.0/16\n[Toolstack]\nCommand=/usr/sbin/xm\nTimeout=30\n[Domains]\nKernel=/boot/k\nRamdisk=/boot/i\nMemory=256\nVCpus=2\n` +
      `[Daemon]\nStateDirectory=/srv/domud\nGroup=xen\nPolkit=no\nReconcileSeconds=2\nLogLevel=debug\n`,
    '/x.conf',
  );
  t.equal(c.source, '/x.conf');
  t.same(c.network, { range: '10.9.0.0/16' });
  t.same(c.toolstack, { command: '/usr/sbin/xm', timeoutSeconds: 30 });
  t.same(c.domains, { kernel: '/boot/k', ramdisk: '/boot/i', memory: 256, vcpus: 2 });
  t.same(c.daemon, { stateDirectory: '/srv/domud', group: 'xen', polkit: false, reconcileSeconds: 2, logLevel: 'debug' });
  for (const [v, b] of [['yes', true], ['TRUE', true], ['on', true], ['1', true], ['off', false], ['0', false], ['false', false]] as const) {
    t.equal(parseConfig(`[Daemon]\nPolkit=${v}\n`, '/x').daemon.polkit, b, v);
  }
});

t.test('errors name the file, line and key', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['[Network]\nRange=2001:db8::/64\n', /^\/f\.conf:2: \[Network\] Range: bad value .*IPv6/],
    ['[Network]\nRange=10.0.0.0/8\n', /^\/f\.conf:2: \[Network\] Range: bad value/],
    ['[Network]\nRange=banana\n', /^\/f\.conf:2: \[Network\] Range:/],
    ['\n\n[Toolstack]\nCommand=xen\n', /^\/f\.conf:4: \[Toolstack\] Command: .*auto, xm, xl or an absolute path/],
    ['[Toolstack]\nTimeout=0\n', /^\/f\.conf:2: \[Toolstack\] Timeout:/],
    ['[Toolstack]\nTimeout=ten\n', /whole number/],
    ['[Domains]\nKernel=vmlinuz\n', /^\/f\.conf:2: \[Domains\] Kernel: .*absolute path/],
    ['[Domains]\nRamdisk=initrd\n', /\[Domains\] Ramdisk:/],
    ['[Domains]\nMemory=-1\n', /\[Domains\] Memory:/],
    ['[Daemon]\nPolkit=maybe\n', /^\/f\.conf:2: \[Daemon\] Polkit:/],
    ['[Daemon]\nLogLevel=loud\n', /\[Daemon\] LogLevel:/],
    ['[Daemon]\nGroup=bad group\n', /\[Daemon\] Group:/],
    ['[Images]\nDebootstrap=sbin/debootstrap\n', /^\/f\.conf:2: \[Images\] Debootstrap: .*absolute path or a program name/],
    ['[Images]\nDebootstrap=\n', /\[Images\] Debootstrap:/],
    ['[Images]\nCacheDirectory=cache\n', /^\/f\.conf:2: \[Images\] CacheDirectory: .*absolute path/],
    ['[Daemon]\nColour=blue\n', /^\/f\.conf:2: \[Daemon\] Colour: unknown key/],
    ['[Network]\nRange=10.0.0.0/24\n[Bridge]\nName=xenbr0\n', /^\/f\.conf:3: unknown section \[Bridge\]/],
    ['[Daemon]\nPolkit=no\n[Deamon]\n#Group=xen\n', /^\/f\.conf:3: unknown section \[Deamon\]/],
    ['Range=10.0.0.0/24\n', /^\/f\.conf:1: .*outside any/],
  ];
  for (const [text, re] of cases) {
    const e = t.throws(() => parseConfig(text, '/f.conf')) as unknown as ConfigError;
    t.ok(e instanceof ConfigError, text);
    t.match(e.message, re, text);
  }
});

t.test('[Images]: the debootstrap run and its cache', async (t) => {
  t.same(parseConfig('', null).images, { debootstrap: 'debootstrap', cacheDirectory: '' }, 'the defaults');
  t.same(parseConfig('[Images]\nDebootstrap=/opt/sim/debootstrap\nCacheDirectory=/var/cache/domud\n', '/x').images, {
    debootstrap: '/opt/sim/debootstrap',
    cacheDirectory: '/var/cache/domud',
  });
  t.equal(parseConfig('[Images]\nDebootstrap=qemu-debootstrap\n', '/x').images.debootstrap, 'qemu-debootstrap', 'a name on the fixed PATH');
});

t.test('where the configuration comes from', async (t) => {
  const named = file('named.conf', '[Domains]\nMemory=64\n');
  t.equal(loadConfig(named, {}).domains.memory, 64, '--config');
  t.equal(loadConfig(undefined, { DOMUD_CONFIG: named }).domains.memory, 64, '$DOMUD_CONFIG');
  t.throws(() => loadConfig(join(dir, 'missing.conf'), {}), /missing\.conf: cannot read the configuration: no such file/);
  t.throws(() => loadConfig(undefined, { DOMUD_CONFIG: join(dir, 'gone.conf') }), /gone\.conf: cannot read/);
  t.throws(() => loadConfig(dir, {}), /cannot read the configuration/, 'a directory');
  // The default path may be missing (all defaults) but nothing else may.
  const c = loadConfig(undefined, {});
  t.equal(c.source, c.source === null ? null : DEFAULT_CONFIG_PATH);
});

t.test('systemd/domud.conf shows every key with its default, and reads as all defaults', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { DEFAULTS } = await import('../../src/daemon/config.js');
  const { PACKAGE_ROOT } = await import('../../src/dev/sandbox.js');
  const text = readFileSync(join(PACKAGE_ROOT, 'systemd', 'domud.conf'), 'utf8');
  for (const [section, keys] of Object.entries(DEFAULTS)) {
    t.match(text, `\n[${section}]\n`, `[${section}]`);
    for (const [key, value] of Object.entries(keys)) t.match(text, `\n#${key}=${value}\n`, `#${key}=${value}`);
  }
  t.same(parseConfig(text, '/etc/domud/domud.conf').images, parseConfig('', null).images);
});
