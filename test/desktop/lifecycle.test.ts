// The daemon's lifecycle as the window sees it: on a bus with domud's
// activation file in a service directory, the window's first call starts
// domud; killing domud shows the "not running" page; starting domud again
// (here by another client's call) brings the list back, same window.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { systemBusConfig } from '../../src/dev/bus-config.js';
import { PACKAGE_ROOT } from '../../src/dev/sandbox.js';
import { build, DAEMON, DesktopWindow, sandbox } from './window.js';

t.before(build);

const IP = ['/usr/bin/ip', '/bin/ip', '/usr/sbin/ip', '/sbin/ip'].find((p) => existsSync(p))!;

t.test('the first call starts domud; the window follows it going and coming back', async (t) => {
  // The sandbox's configuration, simulator and namespace; the bus is this test's own.
  const s = await sandbox(t, {}, false);
  const dir = join(s.dir, 'activation');
  const services = join(dir, 'services');
  mkdirSync(services, { recursive: true });
  const socket = join(dir, 'bus');
  const address = `unix:path=${socket}`;
  writeFileSync(
    join(dir, 'bus.conf'),
    systemBusConfig({ socket, policyFiles: [join(PACKAGE_ROOT, 'systemd', 'org.domud.Domud1.conf')], serviceDirs: [services], serviceStartTimeoutMs: 60_000 }),
  );
  const daemon = [...(s.netns ? [IP, 'netns', 'exec', s.netns] : []), process.execPath, DAEMON, '--config', s.configPath, '--bus', address];
  writeFileSync(join(services, 'org.domud.Domud1.service'), `[D-BUS Service]\nName=org.domud.Domud1\nExec=${daemon.join(' ')}\nUser=root\n`);
  const bus: ChildProcess = spawn('dbus-daemon', ['--nofork', '--nopidfile', `--config-file=${join(dir, 'bus.conf')}`], { stdio: 'ignore' });
  t.teardown(() => bus.kill('SIGTERM'));
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));

  const busctl = async (...a: string[]) => (await s.exec('busctl', [`--address=${address}`, ...a])).stdout.trim();
  const dbus = (method: string, ...a: string[]) => busctl('call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', method, ...a);
  const owned = () => dbus('NameHasOwner', 's', 'org.domud.Domud1');
  const daemonPid = async () => Number((await dbus('GetConnectionUnixProcessID', 's', 'org.domud.Domud1')).split(' ')[1]);
  const killDaemon = async () => {
    if ((await owned()) !== 'b true') return;
    process.kill(await daemonPid(), 'SIGKILL');
    for (let i = 0; i < 200 && (await owned()) === 'b true'; i++) await new Promise((r) => setTimeout(r, 25));
  };
  t.teardown(killDaemon);

  t.equal(await owned(), 'b false', 'domud is not running before the window opens');
  const w = await DesktopWindow.open({ bus: address });
  t.teardown(() => w.close());
  const gjs = await w.pid();
  t.ok((await w.wait('No guests yet', 30)).ok, 'the window shows the (empty) list');
  t.equal(await owned(), 'b true', 'the window’s first call started domud by activation');
  await busctl('call', 'org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager', 'CreateDomain', 'sa{sv}', 'web1', '0');
  t.ok((await w.wait('web1', 5, 'Guests')).ok, 'and follows it');
  await w.screenshot('activated');

  await killDaemon();
  t.ok((await w.wait('domud is not running')).ok, 'killing domud shows the "not running" page');
  t.notOk((await w.texts()).includes('web1'), 'not a stale list');
  await w.screenshot('not-running');

  // Another client's call starts domud again (activation): the window sees
  // the name come back and fetches the guests, without being restarted.
  await busctl('call', 'org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager', 'ListDomains');
  t.ok((await w.wait('web1', 20, 'Guests')).ok, 'the list comes back');
  t.notOk((await w.texts()).includes('domud is not running'));
  t.equal(await w.pid(), gjs, 'in the same window');
  await w.screenshot('recovered');

  // And the window's own "Start domud" button activates it too.
  await killDaemon();
  t.ok((await w.wait('domud is not running')).ok);
  t.ok((await w.click('Start domud')).ok);
  t.ok((await w.wait('web1', 20, 'Guests')).ok, '"Start domud" starts it by activation');
  t.equal(await owned(), 'b true');
});
