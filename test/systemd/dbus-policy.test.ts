// The bus policy and activation file, loaded by a real dbus-daemon set up
// like Debian's system bus, exercised with real clients: root and an
// unprivileged user ("nobody", via setpriv) calling with dbus-send.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBus, type Bus } from './bus.js';
import { ROOT, SYSTEMD_DIR } from './install.js';

const run = promisify(execFile);
const POLICY = join(SYSTEMD_DIR, 'org.domud.Domud1.conf');
const FIXTURE = join(ROOT, 'test/systemd/fixtures/stand-in');
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

interface Result {
  readonly ok: boolean;
  readonly out: string;
}

/** dbus-send on the test bus as root, or as nobody when `asNobody`. */
async function dbusSend(bus: Bus, asNobody: boolean, args: readonly string[]): Promise<Result> {
  const argv = ['dbus-send', '--system', '--print-reply', '--reply-timeout=10000', ...args];
  const [cmd, ...rest] = asNobody ? ['setpriv', ...NOBODY, ...argv] : argv;
  try {
    const { stdout } = await run(cmd!, rest, { env: { PATH: process.env.PATH, DBUS_SYSTEM_BUS_ADDRESS: bus.address } });
    return { ok: true, out: stdout };
  } catch (e) {
    const err = e as { stderr: string };
    return { ok: false, out: err.stderr };
  }
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await check()); i++) await sleep(50);
}

const requestName = ['--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.RequestName', 'string:org.domud.Domud1', 'uint32:4'];
const nameHasOwner = ['--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', 'string:org.domud.Domud1'];
const listDomains = ['--dest=org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager.ListDomains'];

t.test('activation file: a call from nobody starts the service, which answers', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'domud-services-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const shipped = readFileSync(join(SYSTEMD_DIR, 'org.domud.Domud1.service'), 'utf8');
  t.match(shipped, /^Exec=\/usr\/sbin\/domud$/m, 'Exec= names the installed daemon');
  // Same file, with Exec= pointing at a stand-in that owns the name.
  writeFileSync(join(dir, 'org.domud.Domud1.service'), shipped.replace(/^Exec=.*$/m, `Exec=${process.execPath} ${FIXTURE}`));
  const bus = await startBus({ policyFiles: [POLICY], serviceDirs: [dir] });
  t.teardown(() => bus.stop());

  const r = await dbusSend(bus, true, listDomains);
  t.ok(r.ok, `nobody's call was delivered: ${r.out}`);
  t.match(r.out, /string "started by system bus, uid 0"/, 'activated as root by the system bus');
  const owner = await dbusSend(bus, false, nameHasOwner);
  t.match(owner.out, /boolean true/, 'the activated service owns org.domud.Domud1');
});

t.test('policy: only root may own the name; nobody may call the root-owned service', async (t) => {
  const bus = await startBus({ policyFiles: [POLICY] });
  t.teardown(() => bus.stop());

  const nobodyOwns = await dbusSend(bus, true, requestName);
  t.notOk(nobodyOwns.ok, 'nobody cannot own org.domud.Domud1');
  t.match(nobodyOwns.out, /AccessDenied.*not allowed to own the service "org\.domud\.Domud1"/);

  const rootOwns = await dbusSend(bus, false, requestName);
  t.ok(rootOwns.ok, rootOwns.out);
  t.match(rootOwns.out, /uint32 1/, 'root became the primary owner');

  // A root service holds the name (dbus-send above has left); the system
  // default denies method calls, so an answer to nobody is our policy's doing.
  // As the bus would start it (env -i: without tap's loaders).
  const service = spawn('env', ['-i', `PATH=${process.env.PATH}`, `DBUS_STARTER_ADDRESS=${bus.address}`, 'DBUS_STARTER_BUS_TYPE=system', process.execPath, FIXTURE], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  t.teardown(() => service.kill());
  await waitFor(async () => (await dbusSend(bus, false, nameHasOwner)).out.includes('boolean true'));
  const call = await dbusSend(bus, true, listDomains);
  t.ok(call.ok, 'nobody may send to org.domud.Domud1');
  t.match(call.out, /string "started by system bus, uid 0"/);
});

t.test('without our policy file, the same bus refuses root the name', async (t) => {
  // Proves the allowances above come from org.domud.Domud1.conf.
  const bus = await startBus();
  t.teardown(() => bus.stop());
  const rootOwns = await dbusSend(bus, false, requestName);
  t.match(rootOwns.out, /AccessDenied/, 'root may not own the name without the policy');
});

t.test('a malformed policy file stops the bus from starting', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'domud-badpolicy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, readFileSync(POLICY, 'utf8').replace('</busconfig>', ''));
  await t.rejects(startBus({ policyFiles: [bad] }), /dbus-daemon did not start/);
});
