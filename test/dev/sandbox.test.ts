// The sandbox itself: the parts the integration suites do not reach.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { Sandbox } from '../../src/dev/sandbox.js';
import { DAEMON_ENTRY } from '../support/daemon.js';
import { TS_LOADER } from '../support/loader.js';

t.test('without a namespace, as the xm simulator, with extra configuration', async (t) => {
  const s = await Sandbox.create({
    netns: false,
    flavour: 'xm',
    config: { Daemon: { LogLevel: 'warn' }, Network: { Range: '10.77.0.0/24' } },
    entry: DAEMON_ENTRY,
    nodeArgs: TS_LOADER,
  });
  t.teardown(() => s.destroy());
  t.equal(s.netns, null);
  const conf = readFileSync(s.configPath, 'utf8');
  t.match(conf, /\[Daemon\][^[]*LogLevel=warn/, 'extra keys merge into a section');
  t.match(conf, /\[Daemon\][^[]*Polkit=no/, 'without dropping the sandbox\'s own');
  t.match(conf, /\[Network\]\nRange=10\.77\.0\.0\/24/, 'and new sections are added');
  t.match(readFileSync(s.toolPath, 'utf8'), /XMSIM_FLAVOR='xm'/);
  t.equal(await s.stopDaemon(), null, 'stopping a daemon that never started');
  const list = await s.sim(['list']);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /^Name +ID +Mem VCPUs +State +Time\(s\)\nDomain-0 /, 'the xm flavour, without ip netns exec');
  t.equal((await s.ip(['-j', 'link', 'show', 'lo'])).code, 0, 'ip on the host itself');
  await s.startDaemon();
  t.ok(await s.nameOwned());
  const nobody = await s.busctl(['get-property', 'org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager', 'Network'], { uid: 65534 });
  t.equal(nobody.stdout.trim(), 's "10.77.0.0/24"', 'another user reaches the bus');
  t.equal(await s.stopDaemon('SIGTERM'), 0);
  const failed = await s.exec('false', []);
  t.equal(failed.code, 1, 'a failing command reports its status');
  const dir = s.dir;
  await s.destroy();
  t.notOk(existsSync(dir), 'destroy removes the directory');
});

t.test('a daemon that exits before it is ready', async (t) => {
  const s = await Sandbox.create({ netns: false, entry: DAEMON_ENTRY, nodeArgs: TS_LOADER });
  t.teardown(() => s.destroy());
  await t.rejects(s.startDaemon(['--log-level', 'loud']), /domud exited with status 2 before it was ready/);
});

t.test('a bus that cannot start leaves nothing behind', async (t) => {
  await t.rejects(Sandbox.create({ netns: false, policies: ['/nonexistent/policy.conf'] }), /dbus-daemon exited with status/);
});
