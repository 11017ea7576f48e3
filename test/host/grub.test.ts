// The GRUB generator: entries for every hypervisor x dom0 kernel pair, newest
// first, every value quoted, and the whole output accepted by grub-script-check
// (Debian's grub-common). Then its settings file, its CLI and the grub.d hook.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateXenEntries, planXenEntries, renderXenEntries, DEFAULT_SETTINGS, type GrubSettings } from '../../src/host/grub/entries.js';
import { GrubValueError, quote, splitWords } from '../../src/host/grub/quote.js';
import { parseGrubDefaults, readGrubDefaults, GrubConfigError } from '../../src/host/grub/config.js';
import { main } from '../../src/host/grub-cli.js';
import { compareVersions } from '../../src/lib/dpkg-version.js';
import { CHILD_NODE_ARGS } from '../support/loader.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const BOOT = here('./fixtures/grub-boot');
const settings = (s: Partial<GrubSettings> = {}): GrubSettings => ({ ...DEFAULT_SETTINGS, ...s });

/** grub-script-check's verdict on a script (it reads it from a temporary file, removed after). */
function scriptCheck(t: Test, script: string): { status: number | null; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'domud-grub-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(`${dir}/grub.cfg`, script);
  const r = spawnSync('grub-script-check', [`${dir}/grub.cfg`], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Menu entries as { title, lines: word lists } read back from the script. */
function entriesOf(script: string): { head: string[]; body: string[][] }[] {
  const out: { head: string[]; body: string[][] }[] = [];
  for (const line of script.split('\n')) {
    if (line.startsWith('menuentry ')) out.push({ head: splitWords(line), body: [] });
    else if (line.startsWith('\t')) out.at(-1)!.body.push(splitWords(line.trim()));
  }
  return out;
}

t.test('grub-script-check is a real judge: it rejects a broken script', async (t) => {
  t.not(scriptCheck(t, "menuentry 'x' {\n\techo 'unterminated\n").status, 0);
  t.equal(scriptCheck(t, "menuentry 'x' {\n\techo 'hi'\n}\n").status, 0);
});

t.test('entries for each hypervisor and each dom0 kernel, newest first', async (t) => {
  const s = settings({ xenOptions: 'dom0_mem=2G,max:2G  loglvl=all', dom0Options: 'quiet', rootDevice: 'UUID=0b1c-77' });
  const { entries, script } = await generateXenEntries(BOOT, s);
  t.same(
    entries.map((e) => e.title),
    [
      'Debian GNU/Linux, with Xen 4.19-amd64 and Linux 6.1.0-18-amd64',
      'Debian GNU/Linux, with Xen 4.19-amd64 and Linux 6.1.0-9-amd64',
      'Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-18-amd64',
      'Debian GNU/Linux, with Xen 4.17-amd64 and Linux 6.1.0-9-amd64',
    ],
    'the custom non-dom0 kernel, .dpkg-old copies, xen-syms, .config and xenpolicy are left out',
  );
  t.same(scriptCheck(t, script), { status: 0, out: '' });
  const read = entriesOf(script);
  t.equal(read.length, 4);
  t.same(read[0]!.head, [
    'menuentry',
    'Debian GNU/Linux, with Xen 4.19-amd64 and Linux 6.1.0-18-amd64',
    '--class', 'debian', '--class', 'gnu-linux', '--class', 'gnu', '--class', 'os', '--class', 'xen',
    '$menuentry_id_option', 'domud-xen-4.19-amd64-6.1.0-18-amd64', '{',
  ]);
  t.same(read[0]!.body, [
    ['insmod', 'gzio'],
    ['echo', 'Loading Xen 4.19-amd64 ...'],
    ['multiboot2', '/boot/xen-4.19-amd64.gz', 'placeholder', 'dom0_mem=2G,max:2G', 'loglvl=all'],
    ['echo', 'Loading Linux 6.1.0-18-amd64 ...'],
    ['module2', '/boot/vmlinuz-6.1.0-18-amd64', 'placeholder', 'root=UUID=0b1c-77', 'ro', 'quiet'],
    ['echo', 'Loading initial ramdisk ...'],
    ['module2', '--nounzip', '/boot/initrd.img-6.1.0-18-amd64'],
  ]);
  t.same(read[1]!.body.at(-1), ['module2', '/boot/vmlinuz-6.1.0-9-amd64', 'placeholder', 'root=UUID=0b1c-77', 'ro', 'quiet'], 'no initrd, no initrd line');
  t.notMatch(script, 'linux\t', 'no plain linux entries: 10_linux keeps those');
});

t.test('a hostile option string, distributor and file name stay literal words', async (t) => {
  const evil = "a'b \"c\" $(reboot) ${x} ; } {";
  const dir = t.testdir({
    boot: { "xen-4.17'x.gz": '', "vmlinuz-6.1';reboot;'": '', "config-6.1';reboot;'": 'CONFIG_XEN_DOM0=y\n' },
  });
  const { script } = await generateXenEntries(dir, settings({ xenOptions: evil, dom0Options: evil, distributor: "Evil'OS }", rootDevice: "/dev/sda1'" }));
  t.same(scriptCheck(t, script), { status: 0, out: '' });
  const [e] = entriesOf(script);
  t.equal(e!.head[1], "Evil'OS } GNU/Linux, with Xen 4.17'x and Linux 6.1';reboot;'");
  t.equal(e!.head[3], 'evil_os', 'the class is a plain word');
  const words = evil.split(' ').filter((w) => w);
  t.same(e!.body[2], ['multiboot2', "/boot/xen-4.17'x.gz", 'placeholder', ...words]);
  t.same(e!.body[4], ['module2', "/boot/vmlinuz-6.1';reboot;'", 'placeholder', "root=/dev/sda1'", 'ro', ...words]);
  t.match(script, `'a'\\''b'`, "' is written '\\''");
  t.throws(() => quote('quiet\nreboot', 'dom0 options'), new GrubValueError('dom0 options', 'quiet\nreboot'));
  t.throws(() => renderXenEntries(planXenEntries([{ file: 'xen.gz', version: 'x' }], [{ file: 'vmlinuz-1-xen', version: '1-xen', reason: 'name', initrd: null }], settings()), settings({ dom0Options: 'a\tb\x07' })), {
    code: 'GrubValueInvalid',
    field: 'dom0 options',
    message: /control character/,
  });
});

t.test('loader, boot path and the lines grub-mkconfig prepares', async (t) => {
  const hv = [
    { file: 'xen-3.0.3-1-i386-pae.gz', version: '3.0.3-1-i386-pae' },
    { file: 'xen-4.8.gz', version: '4.8' },
    { file: 'xen-4.9.gz', version: '4.9' },
    { file: 'xen-5.0.gz', version: '5.0' },
    { file: 'xen.gz', version: 'xen' },
  ];
  const k = [{ file: 'vmlinuz-2.6.18-xen', version: '2.6.18-xen', reason: 'name' as const, initrd: 'initrd.img-2.6.18-xen' }];
  t.same(planXenEntries(hv, k, settings()).map((e) => e.loader), ['multiboot', 'multiboot', 'multiboot2', 'multiboot2', 'multiboot2'], 'multiboot2 from Xen 4.9');
  t.same(planXenEntries(hv, k, settings({ loader: 'multiboot' })).map((e) => e.loader), Array(5).fill('multiboot'));
  const s = settings({ bootPath: '', prepare: "insmod part_msdos\n\n\tsearch --no-floppy --fs-uuid --set=root 1234\n", rootDevice: '' });
  const script = renderXenEntries(planXenEntries(hv.slice(0, 1), k, s), s);
  t.same(scriptCheck(t, script), { status: 0, out: '' });
  t.same(entriesOf(script)[0]!.body, [
    ['insmod', 'gzio'],
    ['insmod', 'part_msdos'],
    ['search', '--no-floppy', '--fs-uuid', '--set=root', '1234'],
    ['echo', 'Loading Xen 3.0.3-1-i386-pae ...'],
    ['multiboot', '/xen-3.0.3-1-i386-pae.gz', 'placeholder'],
    ['echo', 'Loading Linux 2.6.18-xen ...'],
    ['module', '/vmlinuz-2.6.18-xen', 'placeholder', 'ro'],
    ['echo', 'Loading initial ramdisk ...'],
    ['module', '--nounzip', '/initrd.img-2.6.18-xen'],
  ]);
  t.equal((await generateXenEntries(t.testdir({ boot: { 'xen-4.17.gz': '' } }), settings())).script, '', 'no dom0 kernel, no entries');
});

t.test('version order is dpkg\'s', async (t) => {
  const versions = ['6.1.0-9-amd64', '6.1.0-10-amd64', '6.1.0-10-amd64~rc1', '6.10', '6.1', '6.1.0', 'x', '6.rc', '06.1.0-9-amd64', '1.0a~', '1.0a', '1.0ab', '1~', '1a', '1.0.'];
  t.same(
    versions.slice(0, 9).sort(compareVersions),
    ['6.1', '6.1.0', '6.1.0-9-amd64', '06.1.0-9-amd64', '6.1.0-10-amd64~rc1', '6.1.0-10-amd64', '6.10', '6.rc', 'x'],
  );
  // every pair agrees with dpkg --compare-versions itself
  for (const a of versions) {
    for (const b of versions) {
      const c = compareVersions(a, b);
      const op = c < 0 ? 'lt' : c > 0 ? 'gt' : 'eq';
      t.equal(spawnSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' }).status, 0, `${a} ${op} ${b}`);
    }
  }
});

t.test('splitWords reads GRUB quoting back', async (t) => {
  t.same(splitWords(`a 'b c'd "e \\" f" g\\ h 'open`), ['a', 'b cd', 'e " f', 'g h', 'open']);
  t.same(splitWords(`x "unterminated`), ['x', 'unterminated']);
  t.same(splitWords('trailing\\'), ['trailing\\']);
  t.same(splitWords('   '), []);
  t.same(splitWords('\\$x \\\\'), ['$x', '\\']);
});

t.test('settings file /etc/default/domud-grub', async (t) => {
  const text = [
    '# domud boot entries',
    '',
    'ENABLE=yes',
    'export DISTRIBUTOR="Ubuntu Edgy"',
    "XEN_OPTIONS='dom0_mem=512M loglvl=all'",
    'DOM0_OPTIONS="console=hvc0 quote=\\" dollar=\\$x"',
    'ROOT_DEVICE=/dev/xvda1',
    'XEN_LOADER=multiboot',
  ].join('\n');
  t.same(parseGrubDefaults(text, 'f'), {
    enable: 'yes',
    settings: { distributor: 'Ubuntu Edgy', xenOptions: 'dom0_mem=512M loglvl=all', dom0Options: 'console=hvc0 quote=" dollar=$x', rootDevice: '/dev/xvda1', loader: 'multiboot' },
  });
  const bad: [string, RegExp][] = [
    ['FOO=1', /f:1: FOO: unknown key/],
    ['\n\nnot a setting', /f:3: expected KEY=value/],
    ['DOM0_OPTIONS=a b', /quote the value/],
    ['DOM0_OPTIONS="$GRUB_CMDLINE_LINUX quiet"', /\$ and ` are not expanded/],
    ['XEN_OPTIONS=`cat x`', /quote the value|not expanded/],
    ['ENABLE=maybe', /ENABLE: must be auto, yes or no/],
    ['XEN_LOADER=chain', /XEN_LOADER: must be auto, multiboot or multiboot2/],
  ];
  for (const [line, why] of bad) t.throws(() => parseGrubDefaults(line, 'f'), why, line);
  t.throws(() => parseGrubDefaults('ENABLE=maybe', 'f'), new GrubConfigError('f', 1, 'ENABLE', 'must be auto, yes or no'));
  t.same(await readGrubDefaults(`${t.testdir({})}/missing`), { settings: {} });
  await t.rejects(readGrubDefaults(t.testdir({})), { code: 'EISDIR' });
});

function io(): { out: string; err: string; io: { out: (s: string) => void; err: (s: string) => void } } {
  const r = { out: '', err: '', io: { out: (s: string) => void (r.out += s), err: (s: string) => void (r.err += s) } };
  return r;
}

t.test('grub-cli', async (t) => {
  let r = io();
  t.equal(await main(['--help'], r.io), 0);
  t.match(r.out, /usage: grub-cli/);
  r = io();
  t.equal(await main(['--bogus'], r.io), 2);
  t.match(r.err, /Unknown option.*\nusage/s);

  r = io();
  t.equal(await main(['--root', BOOT, '--distributor', 'Debian', '--root-device', 'UUID=1', '--boot-path', '/boot', '--prepare', 'insmod ext2', '--xen-options', ' ', '--dom0-options', 'quiet'], r.io), 0);
  t.equal(entriesOf(r.out).length, 4);
  t.match(r.err, /^Found Xen 4.19-amd64 with Linux 6.1.0-18-amd64\n/);
  t.same(scriptCheck(t, r.out), { status: 0, out: '' });

  const dir = t.testdir({
    cfg: {
      boot: { 'xen-4.17-amd64.gz': '', 'vmlinuz-6.1-xen': '' },
      etc: { default: { 'domud-grub': 'DOM0_OPTIONS="console=hvc0"\nDISTRIBUTOR=Devuan\n' } },
    },
    grubxen: { boot: { 'xen-4.17-amd64.gz': '', 'vmlinuz-6.1-xen': '' }, etc: { 'grub.d': { '20_linux_xen': '#!/bin/sh\n' } } },
  });
  const cfgRoot = `${dir}/cfg`;
  const withGrubXen = `${dir}/grubxen`;
  r = io();
  t.equal(await main(['--root', cfgRoot, '--distributor', 'Debian', '--dom0-options', 'quiet'], r.io), 0);
  const [e] = entriesOf(r.out);
  t.equal(e!.head[1], 'Devuan GNU/Linux, with Xen 4.17-amd64 and Linux 6.1-xen', 'the settings file has the last word');
  t.same(e!.body[4], ['module2', '/boot/vmlinuz-6.1-xen', 'placeholder', 'ro', 'console=hvc0']);

  chmodSync(`${withGrubXen}/etc/grub.d/20_linux_xen`, 0o755);
  r = io();
  t.equal(await main(['--root', withGrubXen], r.io), 0);
  t.equal(r.out, '', 'auto: grub\'s own 20_linux_xen writes the Xen entries');
  t.match(r.err, /20_linux_xen already writes Xen entries; set ENABLE=yes/);
  writeFileSync(`${withGrubXen}/on`, 'ENABLE=yes\n');
  r = io();
  t.equal(await main(['--root', withGrubXen, '--config', `${withGrubXen}/on`], r.io), 0);
  t.equal(entriesOf(r.out).length, 1, 'ENABLE=yes writes them anyway');
  writeFileSync(`${withGrubXen}/off`, 'ENABLE=no\n');
  r = io();
  t.equal(await main(['--root', cfgRoot, '--config', `${withGrubXen}/off`], r.io), 0);
  t.same([r.out, r.err], ['', '']);

  writeFileSync(`${withGrubXen}/bad`, 'ENABLE=yes\nXEN_OPTIONS=$(reboot)\n');
  r = io();
  t.equal(await main(['--root', cfgRoot, '--config', `${withGrubXen}/bad`], r.io), 1);
  t.match(r.err, /^21_domud_xen: .*bad:2: XEN_OPTIONS: quote the value/);
  t.equal(r.out, '', 'a bad setting prints no half menu');
});

/** An executable that runs node the way tap runs this test (TypeScript loader, coverage). */
function nodeShim(t: Test, more: Parameters<Test['testdir']>[0] = {}): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const dir = t.testdir({ ...(more as object), node: `#!/bin/sh\nexec ${[process.execPath, ...CHILD_NODE_ARGS].map(q).join(' ')} "$@"\n` });
  chmodSync(`${dir}/node`, 0o755);
  return dir;
}

const HOOK = here('../../data/grub.d/21_domud_xen');
const CLI = here('../../src/host/grub-cli.ts');

function hook(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sh', [HOOK], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('the grub.d hook runs the CLI with what grub-mkconfig exported', async (t) => {
  // grub-mkconfig's library, as far as the hook uses it: where /boot is and how to reach it
  const dir = nodeShim(t, {
    lib: {
      'grub-mkconfig_lib': 'make_system_path_relative_to_its_root() { echo ""; }\nprepare_grub_to_access_device() { echo "insmod lvm"; echo "search --set=root --fs-uuid $1"; }\n',
    },
  });
  const lib = `${dir}/lib`;
  const base = { NODE: `${dir}/node`, DOMUD_GRUB_CLI: CLI, DOMUD_GRUB_ROOT: BOOT };
  let r = hook({ ...base, GRUB_DISTRIBUTOR: 'Debian', GRUB_DEVICE: '/dev/vda1', GRUB_DEVICE_UUID: 'ab-12', GRUB_CMDLINE_XEN_DEFAULT: 'dom0_mem=1G', GRUB_CMDLINE_LINUX_DEFAULT: 'quiet' });
  t.equal(r.status, 0, r.stderr);
  t.same(scriptCheck(t, r.stdout), { status: 0, out: '' });
  let e = entriesOf(r.stdout);
  t.equal(e.length, 4);
  t.same(e[0]!.body[2], ['multiboot2', '/boot/xen-4.19-amd64.gz', 'placeholder', 'dom0_mem=1G']);
  t.same(e[0]!.body[4], ['module2', '/boot/vmlinuz-6.1.0-18-amd64', 'placeholder', 'root=UUID=ab-12', 'ro', 'quiet']);

  r = hook({ ...base, pkgdatadir: lib, GRUB_DEVICE_BOOT: '/dev/vda2', GRUB_DEVICE: '/dev/vda1', GRUB_DEVICE_UUID: 'ab-12', GRUB_DISABLE_LINUX_UUID: 'true' });
  t.equal(r.status, 0, r.stderr);
  e = entriesOf(r.stdout);
  t.same(e[0]!.body.slice(0, 5), [
    ['insmod', 'gzio'],
    ['insmod', 'lvm'],
    ['search', '--set=root', '--fs-uuid', '/dev/vda2'],
    ['echo', 'Loading Xen 4.19-amd64 ...'],
    ['multiboot2', '/xen-4.19-amd64.gz', 'placeholder'],
  ]);
  t.same(e[0]!.body[6], ['module2', '/vmlinuz-6.1.0-18-amd64', 'placeholder', 'root=/dev/vda1', 'ro']);

  r = hook({ ...base, DOMUD_GRUB_CLI: '/nonexistent/grub-cli.js' });
  t.same([r.status, r.stdout], [0, ''], 'domud removed: the hook adds nothing and does not fail update-grub');
  r = hook({ ...base, NODE: '/nonexistent/node' });
  t.same([r.status, r.stdout], [0, ''], 'no node: nothing to add');
});
