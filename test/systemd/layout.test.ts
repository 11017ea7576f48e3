// The install step: every file lands where Debian puts it, and every path
// the unit and the activation file name exists in the installed tree.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readFileSync, readlinkSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installFiles, ROOT } from './install.js';

const staged = installFiles();
t.teardown(staged.remove);
const at = (p: string) => join(staged.destdir, p);

const executable = (p: string): boolean => {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const mode = (p: string) => statSync(at(p)).mode & 0o777;

t.test('each file at its Debian path, with its mode, unchanged', async (t) => {
  const shipped: Array<[string, string]> = [
    ['systemd/org.domud.Domud1.conf', '/usr/share/dbus-1/system.d/org.domud.Domud1.conf'],
    ['systemd/org.domud.Domud1.service', '/usr/share/dbus-1/system-services/org.domud.Domud1.service'],
    ['systemd/org.domud.domud1.policy', '/usr/share/polkit-1/actions/org.domud.domud1.policy'],
    ['systemd/domud.conf', '/etc/domud/domud.conf'],
    ['systemd/domud.service', '/lib/systemd/system/domud.service'],
    ['package.json', '/usr/lib/domud/package.json'],
  ];
  for (const [from, to] of shipped) {
    t.equal(readFileSync(at(to), 'utf8'), readFileSync(join(ROOT, from), 'utf8'), to);
    t.equal(mode(to), 0o644, `${to} is 0644`);
  }
  const xml = readdirSync(join(ROOT, 'data/dbus')).filter((f) => f.endsWith('.xml'));
  for (const f of xml) t.ok(existsSync(at(`/usr/share/dbus-1/interfaces/${f}`)), `interface ${f}`);
});

t.test('the alias is a relative symlink to the unit', async (t) => {
  const alias = at('/lib/systemd/system/dbus-org.domud.Domud1.service');
  t.ok(lstatSync(alias).isSymbolicLink());
  t.equal(readlinkSync(alias), 'domud.service');
});

t.test('what ExecStart= and Exec= name exists and runs the built daemon', async (t) => {
  const unit = readFileSync(at('/lib/systemd/system/domud.service'), 'utf8');
  const activation = readFileSync(at('/usr/share/dbus-1/system-services/org.domud.Domud1.service'), 'utf8');
  const execStart = /^ExecStart=(\S+)/m.exec(unit)![1]!;
  const exec = /^Exec=(\S+)/m.exec(activation)![1]!;
  t.equal(execStart, '/usr/sbin/domud');
  t.equal(exec, execStart, 'activation without systemd runs the same program');
  t.match(activation, /^SystemdService=dbus-org\.domud\.Domud1\.service$/m);
  t.ok(existsSync(at(`/lib/systemd/system/${/^SystemdService=(\S+)/m.exec(activation)![1]}`)), 'SystemdService= names an installed unit');
  const doc = /^Documentation=file:\/\/(\S+)$/m.exec(unit)![1]!;
  t.ok(existsSync(at(doc)), `Documentation= ${doc} installed`);
  for (const [launcher, entry] of [
    ['/usr/sbin/domud', '/usr/lib/domud/dist/domud.cjs'],
    ['/usr/bin/domuctl', '/usr/lib/domud/dist/src/cli/domuctl.js'],
  ] as const) {
    t.ok(executable(at(launcher)), `${launcher} is executable`);
    t.equal(readFileSync(at(launcher), 'utf8'), `#!/bin/sh\nexec node ${entry} "$@"\n`);
  }
  // The launcher's target is the build output: present in the tree when the
  // project was built (CI builds before testing).
  t.ok(existsSync(at('/usr/lib/domud/dist/domud.cjs')), 'dist/domud.cjs installed');
  for (const f of readdirSync(join(ROOT, 'data/dbus')).filter((x) => x.endsWith('.xml'))) t.ok(existsSync(at(`/usr/lib/domud/data/dbus/${f}`)), `the daemon finds ${f} through data/dbus`);
  t.ok(existsSync(at('/usr/share/man/man5/org.domud.Domud1.5')), 'org.domud.Domud1(5) installed');
  t.ok(existsSync(at('/usr/lib/domud/node_modules/dbus-next/package.json')), 'node_modules installed');
});

t.test('another prefix and node are written into the launchers and files', async (t) => {
  const other = installFiles(['--prefix', '/opt/domud', '--unitdir', '/etc/systemd/system', '--node', '/usr/local/bin/node', '--without-node-modules']);
  t.teardown(other.remove);
  const d = (p: string) => join(other.destdir, p);
  t.match(readFileSync(d('/etc/systemd/system/domud.service'), 'utf8'), /^ExecStart=\/opt\/domud\/sbin\/domud$/m);
  t.match(readFileSync(d('/opt/domud/share/dbus-1/system-services/org.domud.Domud1.service'), 'utf8'), /^Exec=\/opt\/domud\/sbin\/domud$/m);
  t.equal(readFileSync(d('/opt/domud/sbin/domud'), 'utf8'), '#!/bin/sh\nexec /usr/local/bin/node /opt/domud/lib/domud/dist/domud.cjs "$@"\n');
  t.ok(existsSync(d('/opt/domud/lib/domud/dist')), 'dist installed');
  t.notOk(existsSync(d('/opt/domud/lib/domud/node_modules')), 'node_modules left to the packaging');
});

t.test('bad arguments are refused and install nothing', async (t) => {
  const script = join(ROOT, 'scripts/install-files.sh');
  for (const args of [[], ['--destdir'], ['--destdir', '/nonexistent/x', '--prefix', 'usr'], ['--destdir', '/nonexistent/x', '--node', 'node; rm'], ['--destdir', '/nonexistent/x', '--what']]) {
    const r = spawnSync(script, args, { encoding: 'utf8' });
    t.equal(r.status, 2, `${args.join(' ')}: exit 2`);
    t.match(r.stderr, /^install-files: /m, 'one clear line');
  }
  t.notOk(existsSync('/nonexistent/x'));
});

t.test("an administrator's configuration is left as it is", async (t) => {
  const conf = at('/etc/domud/domud.conf');
  writeFileSync(conf, '[Network]\nRange=10.9.8.0/24\n');
  const r = spawnSync(join(ROOT, 'scripts/install-files.sh'), ['--destdir', staged.destdir, '--without-node-modules'], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.match(r.stderr, /domud\.conf exists; left as it is/);
  t.equal(readFileSync(conf, 'utf8'), '[Network]\nRange=10.9.8.0/24\n');
  t.ok(existsSync(at('/usr/lib/domud/node_modules/dbus-next/package.json')), 'node_modules from the first install kept');
});
