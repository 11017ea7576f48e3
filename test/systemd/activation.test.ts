// Bus activation: with only the project's policy and activation file in a
// real dbus-daemon's service directory, the first call to org.domud.Domud1
// starts the daemon, which answers it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { PACKAGE_ROOT } from '../../src/dev/sandbox.js';
import { startBus } from './bus.js';
import { TS_LOADER } from '../support/loader.js';

const run = promisify(execFile);

t.test('the first call starts domud by activation', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'domud-activation-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const services = join(dir, 'services');
  mkdirSync(services);
  writeFileSync(
    join(dir, 'domud.conf'),
    `[Toolstack]\nCommand=${join(dir, 'no-such-xl')}\n[Daemon]\nStateDirectory=${join(dir, 'state')}\nPolkit=no\nLogLevel=warn\n`,
  );
  // The shipped activation file, with Exec= pointed at this tree's daemon
  // (run from source, so that no build is needed) and this test's config.
  const shipped = readFileSync(join(PACKAGE_ROOT, 'systemd', 'org.domud.Domud1.service'), 'utf8');
  const exec = [process.execPath, ...TS_LOADER, join(PACKAGE_ROOT, 'src', 'daemon', 'main.ts'), '--config', join(dir, 'domud.conf')].join(' ');
  t.match(shipped, /^Exec=\/usr\/sbin\/domud$/m);
  writeFileSync(join(services, 'org.domud.Domud1.service'), shipped.replace(/^Exec=.*$/m, `Exec=${exec}`));

  const bus = await startBus({ policyFiles: [join(PACKAGE_ROOT, 'systemd', 'org.domud.Domud1.conf')], serviceDirs: [services], serviceStartTimeoutMs: 120_000 });
  let daemonPid: number | undefined;
  t.teardown(async () => {
    if (daemonPid) {
      try {
        process.kill(daemonPid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await bus.stop();
  });
  const busctl = (...a: string[]) => run('busctl', [`--address=${bus.address}`, ...a]);
  const owned = async () => (await busctl('call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'NameHasOwner', 's', 'org.domud.Domud1')).stdout.trim();

  t.equal(await owned(), 'b false', 'nobody owns the name before the first call');
  const activatable = (await busctl('call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ListActivatableNames')).stdout;
  t.match(activatable, /"org\.domud\.Domud1"/, 'the bus read the activation file');

  // Run from source, the daemon compiles itself first: give the call time.
  const v = await busctl('--timeout=120', 'call', 'org.domud.Domud1', '/org/domud/Domud1', 'org.freedesktop.DBus.Properties', 'Get', 'ss', 'org.domud.Domud1.Manager', 'Version');
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(v.stdout.trim(), `v s "${pkg.version}"`, 'the activated daemon answered the call that started it');
  t.equal(await owned(), 'b true');
  const pid = await busctl('call', 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetConnectionUnixProcessID', 's', 'org.domud.Domud1');
  daemonPid = Number(pid.stdout.trim().split(' ')[1]);
  t.ok(daemonPid > 0);
  t.match(readFileSync(`/proc/${daemonPid}/cmdline`, 'utf8'), /src\/daemon\/main\.ts/, 'it is domud');
  const list = await busctl('call', 'org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager', 'ListDomains');
  t.equal(list.stdout.trim(), 'a(sisso) 0');

  // It stops cleanly on SIGTERM and gives the name back.
  process.kill(daemonPid, 'SIGTERM');
  for (let i = 0; i < 100 && (await owned()) === 'b true'; i++) await new Promise((r) => setTimeout(r, 50));
  t.equal(await owned(), 'b false', 'name released on SIGTERM');
  daemonPid = undefined;
});
