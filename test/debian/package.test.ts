// The Debian packages: scripts/build-deb.sh builds domud, xen-support and
// domud-desktop from a copy of this tree; lintian finds no error in any; their control fields
// say what a dom0 needs; and the built domud, installed by dpkg into an empty
// root, puts every file where the unit, the activation file, the bus and
// polkit policies and the grub hook expect it.
//
// Installing: `dpkg --root=R --force-script-chrootless`. --root alone would
// chroot into R to run the maintainer scripts, and R has no /bin/sh. With
// --force-script-chrootless they run here with DPKG_ROOT=R, which
// deb-systemd-helper and domud's own scripts honour; the test checks that
// they enabled the unit inside R and left this machine alone.
import t, { type Test } from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
};
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const version = /^domud \(([^)]+)\)/.exec(readFileSync(join(ROOT, 'debian/changelog'), 'utf8'))![1]!;
const nodeMajor = Number(process.versions.node.split('.')[0]);

// Without tap's coverage hooks: the build's tsc and the installed program are
// not this project's covered code.
const { NODE_V8_COVERAGE: _coverage, NODE_OPTIONS: _options, ...baseEnv } = process.env;
const run = (cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', env: { ...baseEnv, LC_ALL: 'C.UTF-8', ...env }, maxBuffer: 64 << 20 });
const arch = run('dpkg', ['--print-architecture']).stdout.trim();

const work = mkdtempSync(join(tmpdir(), 'domud-debian-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const out = join(work, 'out');
const build = run(join(ROOT, 'scripts/build-deb.sh'), [out]);
if (build.status !== 0) throw new Error(`scripts/build-deb.sh failed:\n${build.stderr}`);
const domudDeb = join(out, `domud_${version}_${arch}.deb`);
const supportDeb = join(out, `xen-support_${version}_all.deb`);
const desktopDeb = join(out, `domud-desktop_${version}_all.deb`);
// DOMUD_DEBS=DIR: the .debs this file checks are also put in DIR, for the
// trixie Xen run to install rather than build them again (.ci/run).
if (process.env.DOMUD_DEBS) {
  mkdirSync(process.env.DOMUD_DEBS, { recursive: true });
  for (const deb of [domudDeb, supportDeb, desktopDeb]) copyFileSync(deb, join(process.env.DOMUD_DEBS, basename(deb)));
}

const field = (deb: string, name: string): string => run('dpkg-deb', ['-f', deb, name]).stdout.trim();
// A relation field as its groups of alternatives, each "name (op version)".
const relations = (deb: string, name: string): string[][] =>
  field(deb, name)
    .split(',')
    .map((group) => group.split('|').map((alt) => alt.trim().replace(/\s+/g, ' ')))
    .filter((group) => group[0] !== '');
const contents = (deb: string): string[] =>
  run('dpkg-deb', ['-c', deb])
    .stdout.split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^(\S+\s+){5}\.?/, '').replace(/ -> .*$/, ''));

t.test('build-deb.sh makes exactly the three packages and leaves the tree clean', async (t) => {
  t.same(build.stdout.trim().split('\n').sort(), [domudDeb, supportDeb, desktopDeb].sort());
  t.ok(existsSync(domudDeb) && existsSync(supportDeb) && existsSync(desktopDeb));
  const leftovers = ['debian/domud', 'debian/xen-support', 'debian/domud-desktop', 'debian/.debhelper', 'debian/files', 'debian/domud.substvars', 'debian/debhelper-build-stamp', 'debian/tmp'];
  t.same(leftovers.filter((p) => existsSync(join(ROOT, p))), [], 'no build output under debian/ in the tree');
});

t.test('lintian: no errors in any package', async (t) => {
  const r = run('lintian', ['--fail-on', 'error', domudDeb, supportDeb, desktopDeb]);
  const lines = r.stdout.split('\n').filter(Boolean);
  t.same(lines.filter((l) => l.startsWith('E: ')), [], 'no E: lines');
  t.equal(r.status, 0, `lintian exit status (stderr: ${r.stderr.trim()})`);
  t.comment(`lintian: ${lines.filter((l) => l.startsWith('W: ')).length} warnings`);
});

t.test('domud: control fields', async (t) => {
  t.equal(field(domudDeb, 'Architecture'), arch, 'Architecture: any, built for this machine (the SQLite binding is native)');
  const depends = relations(domudDeb, 'Depends');
  const has = (group: string[]) => depends.some((g) => g.join(' | ') === group.join(' | '));
  t.ok(has([`nodejs (>= ${nodeMajor})`]), `nodejs (>= ${nodeMajor})`);
  t.ok(has([`nodejs (<< ${nodeMajor + 1})`]), `nodejs (<< ${nodeMajor + 1}): the binding is built for node ${nodeMajor}'s ABI`);
  t.ok(nodeMajor >= 20, 'node 20 is the floor');
  t.ok(has(['dbus']), 'dbus');
  t.ok(has(['iproute2']), 'iproute2');
  t.ok(has(['xen-utils-4.17', 'xen-utils']), 'the Xen tools, the real package before the virtual one');
  t.ok(depends.some((g) => /^libc6 \(>= /.test(g[0]!)), 'shlibs of better_sqlite3.node');
  const recommends = relations(domudDeb, 'Recommends').flat();
  t.ok(recommends.includes('polkitd'), 'Recommends polkitd');
  t.ok(recommends.includes('debootstrap') && recommends.includes('e2fsprogs'), 'Recommends what CreateImage runs');
  t.equal(recommends.includes('libc6-xen'), arch === 'i386', 'Recommends libc6-xen on i386 only');
  t.equal(field(domudDeb, 'Version'), version);
});

t.test('xen-support: an Architecture: all metapackage for a dom0', async (t) => {
  t.equal(field(supportDeb, 'Architecture'), 'all');
  const depends = relations(supportDeb, 'Depends');
  const group = (first: string) => depends.find((g) => g[0]!.split(' ')[0] === first);
  t.same(group('xen-hypervisor-4.17-amd64'), ['xen-hypervisor-4.17-amd64', 'xen-hypervisor-4.17-arm64', 'xen-hypervisor'], 'a hypervisor');
  t.same(group('linux-image-amd64'), ['linux-image-amd64', 'linux-image-arm64', 'linux-image-686-pae'], 'a dom0-capable kernel for each architecture');
  t.same(group('xen-utils-4.17'), ['xen-utils-4.17', 'xen-utils'], 'the tools');
  t.same(group('domud'), [`domud (>= ${version})`], 'domud, binNMU-safe');
  t.same(
    contents(supportDeb).filter((p) => !p.endsWith('/')),
    [`/usr/share/doc/xen-support/changelog.gz`, `/usr/share/doc/xen-support/copyright`],
    'no files but its documentation',
  );
});

t.test('domud: contents', async (t) => {
  const files = contents(domudDeb);
  const set = new Set(files);
  for (const p of [
    '/usr/sbin/domud',
    '/usr/bin/domuctl',
    '/lib/systemd/system/domud.service',
    '/lib/systemd/system/dbus-org.domud.Domud1.service',
    '/usr/share/dbus-1/system.d/org.domud.Domud1.conf',
    '/usr/share/dbus-1/system-services/org.domud.Domud1.service',
    '/usr/share/dbus-1/interfaces/org.domud.Domud1.Manager.xml',
    '/usr/share/dbus-1/interfaces/org.domud.Domud1.Domain.xml',
    '/usr/share/polkit-1/actions/org.domud.domud1.policy',
    '/etc/domud/domud.conf',
    '/etc/grub.d/21_domud_xen',
    '/usr/share/man/man8/domud.8.gz',
    '/usr/share/man/man1/domuctl.1.gz',
    '/usr/share/doc/domud/copyright',
    '/usr/lib/domud/package.json',
    '/usr/lib/domud/dist/domud.cjs',
    '/usr/lib/domud/data/dbus',
    '/usr/share/man/man5/org.domud.Domud1.5.gz',
    '/usr/lib/domud/dist/src/cli/domuctl.js',
    '/usr/lib/domud/dist/src/host/grub-cli.js',
    '/usr/lib/domud/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
  ])
    t.ok(set.has(p), p);

  const modules = files.filter((p) => p.startsWith('/usr/lib/domud/node_modules/') && !p.endsWith('/'));
  const shipped = new Set(modules.map((p) => /^\/usr\/lib\/domud\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1]).filter(Boolean));
  for (const name of Object.keys(pkg.dependencies)) t.ok(shipped.has(name), `production dependency ${name} shipped`);
  const dev = Object.entries(lock.packages)
    .filter(([key, meta]) => (meta.dev || meta.devOptional) && key.split('node_modules/').length === 2)
    .map(([key]) => key.slice('node_modules/'.length));
  t.ok(dev.includes('tap') && dev.includes('typescript'), 'the lock marks tap and typescript as development packages');
  t.same(dev.filter((name) => shipped.has(name)), [], 'no development package shipped');
  t.same(modules.filter((p) => /\.(ts|map)$|\/test\/|better-sqlite3\/(deps|src)\/|test_extension\.node$/.test(p)), [], 'no sources, tests or build leftovers');
  t.notOk(files.some((p) => p.startsWith('/usr/lib/domud/dist/bench/') || p.startsWith('/usr/lib/domud/dist/src/dev/')), 'no benchmarks or demo');

  // debian/copyright names every bundled module.
  const copyright = readFileSync(join(ROOT, 'debian/copyright'), 'utf8');
  const covered = new Set([...copyright.matchAll(/node_modules\/((?:@[^/]+\/)?[^/*\s]+(?:\/node_modules\/[^/*\s]+)?)\/\*/g)].map((m) => m[1]));
  const nested = new Set(modules.map((p) => /^\/usr\/lib\/domud\/node_modules\/([^/]+\/node_modules\/[^/]+)\//.exec(p)?.[1]).filter(Boolean));
  for (const name of [...shipped, ...nested]) t.ok(covered.has(name!), `debian/copyright covers ${name}`);
});

t.test('domud installed by dpkg into an empty root', async (t) => {
  const root = join(work, 'root');
  for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/log']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
  const at = (p: string) => join(root, p);
  const dpkg = (...args: string[]) => run('dpkg', [`--root=${root}`, '--force-depends', '--force-script-chrootless', '--force-not-root', ...args]);
  const hostWants = '/etc/systemd/system/multi-user.target.wants/domud.service';
  const hostState = '/var/lib/systemd/deb-systemd-helper-enabled/domud.service.dsh-also';
  const hostBefore = [existsSync(hostWants), existsSync(hostState)];

  const install = dpkg('-i', domudDeb);
  t.equal(install.status, 0, `dpkg -i: ${install.stderr}`);
  const query = (f: string) => run('dpkg-query', [`--admindir=${at('var/lib/dpkg')}`, '-W', `-f=${f}`, 'domud']).stdout;
  t.equal(query('${Status}'), 'install ok installed');

  t.test('the conffile', async (t) => {
    const conffiles = query('${Conffiles}')
      .split('\n')
      .map((l) => l.trim().split(' ')[0])
      .filter(Boolean);
    t.ok(conffiles.includes('/etc/domud/domud.conf'), '/etc/domud/domud.conf is a conffile');
    t.same(conffiles.sort(), ['/etc/domud/domud.conf', '/etc/grub.d/21_domud_xen'], 'and the grub hook, like grub.d scripts of other packages');
    t.equal(readFileSync(at('etc/domud/domud.conf'), 'utf8'), readFileSync(join(ROOT, 'systemd/domud.conf'), 'utf8'));
  });

  const executable = (p: string) => {
    try {
      accessSync(at(p), constants.X_OK);
      return statSync(at(p)).isFile();
    } catch {
      return false;
    }
  };
  // the program a launcher runs: `exec node /usr/lib/domud/... "$@"`
  const launched = (t: Test, launcher: string) => {
    const text = readFileSync(at(launcher), 'utf8');
    t.match(text, /^#!\/bin\/sh\n/, `${launcher} is a shell script`);
    return /^exec node (\/\S+) "\$@"$/m.exec(text)?.[1];
  };

  t.test('what the unit and the activation file run exists and is executable', async (t) => {
    const unit = readFileSync(at('lib/systemd/system/domud.service'), 'utf8');
    const activation = readFileSync(at('usr/share/dbus-1/system-services/org.domud.Domud1.service'), 'utf8');
    const execStart = /^ExecStart=(\S+)/m.exec(unit)?.[1];
    const exec = /^Exec=(\S+)/m.exec(activation)?.[1];
    t.equal(execStart, '/usr/sbin/domud');
    t.equal(exec, execStart);
    t.ok(executable(execStart!), `${execStart} executable`);
    const service = /^SystemdService=(\S+)/m.exec(activation)?.[1];
    t.equal(service, 'dbus-org.domud.Domud1.service');
    t.equal(readlinkSync(at(`lib/systemd/system/${service}`)), 'domud.service', 'SystemdService= is the alias of the unit');
    const doc = /^Documentation=file:\/\/(\S+)$/m.exec(unit)?.[1];
    t.ok(doc && existsSync(at(doc)), `Documentation= ${doc} installed, uncompressed`);
    for (const launcher of ['/usr/sbin/domud', '/usr/bin/domuctl']) {
      t.ok(executable(launcher), `${launcher} executable`);
      const target = launched(t, launcher);
      t.ok(target && existsSync(at(target)), `${launcher} runs ${target}, which is installed`);
    }
  });

  t.test('bus name, bus policy and polkit action agree', async (t) => {
    const unit = readFileSync(at('lib/systemd/system/domud.service'), 'utf8');
    const activation = readFileSync(at('usr/share/dbus-1/system-services/org.domud.Domud1.service'), 'utf8');
    const policy = readFileSync(at('usr/share/dbus-1/system.d/org.domud.Domud1.conf'), 'utf8');
    const name = /^Name=(\S+)/m.exec(activation)?.[1];
    t.equal(name, 'org.domud.Domud1');
    t.match(unit, new RegExp(`^BusName=${name!.replace(/\./g, '\\.')}$`, 'm'), 'the unit waits for that name');
    t.match(policy, `<allow own="${name}"/>`, 'the bus policy lets root own it');
    const action = readFileSync(at('usr/share/polkit-1/actions/org.domud.domud1.policy'), 'utf8');
    t.match(action, '<action id="org.domud.domud1.manage-domains">', 'the polkit action the daemon asks about');
    for (const xml of ['org.domud.Domud1.Manager.xml', 'org.domud.Domud1.Domain.xml'])
      t.equal(readFileSync(at(`usr/share/dbus-1/interfaces/${xml}`), 'utf8'), readFileSync(join(ROOT, 'data/dbus', xml), 'utf8'), xml);
  });

  t.test('the grub hook runs the generator the package installed', async (t) => {
    t.ok(executable('/etc/grub.d/21_domud_xen'), 'executable, so grub-mkconfig runs it');
    const hook = readFileSync(at('etc/grub.d/21_domud_xen'), 'utf8');
    const libdir = /DOMUD_LIBDIR:=(\S+)\}/.exec(hook)?.[1];
    const cli = /DOMUD_GRUB_CLI:=\$DOMUD_LIBDIR(\S+)\}/.exec(hook)?.[1];
    t.equal(libdir, '/usr/lib/domud');
    t.ok(cli && existsSync(at(`${libdir}${cli}`)), `${libdir}${cli} installed`);
  });

  t.test('the installed program runs on its production modules alone', async (t) => {
    const lib = at('usr/lib/domud');
    const v = run(process.execPath, [join(lib, 'dist/domud.cjs'), '--version']);
    t.equal(v.status, 0, v.stderr);
    t.match(v.stdout, pkg.version);
    const help = run(process.execPath, [join(lib, 'dist/src/cli/domuctl.js'), '--help']);
    t.equal(help.status, 0, help.stderr);
    t.match(help.stdout, /doctor/);
    // every dependency loads from the package's node_modules; the SQLite
    // binding opens a database
    const probe = [
      `import { createRequire } from 'node:module';`,
      `const require = createRequire(${JSON.stringify(join(lib, 'package.json'))});`,
      `for (const m of ${JSON.stringify(Object.keys(pkg.dependencies))}) {`,
      `  const p = require.resolve(m);`,
      `  if (!p.startsWith(${JSON.stringify(lib + '/node_modules/')})) throw new Error(m + ' from ' + p);`,
      `  await import(p);`,
      `}`,
      `const Database = require('better-sqlite3');`,
      `console.log(new Database(':memory:').prepare('select 6 * 7 as n').get().n);`,
    ].join('\n');
    const r = run(process.execPath, ['--input-type=module', '-e', probe], { NODE_PATH: '' });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stdout.trim(), '42');
  });

  t.test('man pages', async (t) => {
    for (const page of ['usr/share/man/man8/domud.8.gz', 'usr/share/man/man1/domuctl.1.gz']) t.ok(statSync(at(page)).size > 500, page);
  });

  t.test('the maintainer scripts enabled the unit in the root, not on this machine', async (t) => {
    t.equal(readlinkSync(at(hostWants)), '/lib/systemd/system/domud.service');
    t.ok(lstatSync(at('etc/systemd/system/dbus-org.domud.Domud1.service')).isSymbolicLink(), 'the Alias= link');
    t.same([existsSync(hostWants), existsSync(hostState)], hostBefore, 'the host systemd state unchanged');
  });

  t.test('purge removes the files, the conffile and the unit links', async (t) => {
    mkdirSync(at('var/lib/domud'), { recursive: true });
    writeFileSync(at('var/lib/domud/leases.db'), '');
    const purge = dpkg('--purge', 'domud');
    t.equal(purge.status, 0, purge.stderr);
    for (const p of ['usr/sbin/domud', 'usr/lib/domud', 'etc/domud/domud.conf', 'etc/grub.d/21_domud_xen', hostWants, 'var/lib/domud'])
      t.notOk(existsSync(at(p)), `${p} gone`);
  });
});
