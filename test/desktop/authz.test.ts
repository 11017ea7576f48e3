// A caller who is neither root nor in Group= (the window run as a throwaway
// user, on a bus whose policy lets anyone call domud) is refused by domud:
// the window says "You are not allowed to …" and nothing changes.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { build, DesktopWindow, sandbox } from './window.js';

const run = promisify(execFile);

t.before(build);

t.test('a user who may not change domains is told so, and nothing changes', async (t) => {
  const user = `domud-dt${process.pid}`.slice(0, 31);
  await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
  t.teardown(() => run('userdel', [user]).catch(() => undefined));
  const uid = Number((await run('id', ['-u', user])).stdout.trim());

  // Polkit=no and no Group=: only root may change domains.
  const s = await sandbox(t);
  const M = ['org.domud.Domud1', '/org/domud/Domud1', 'org.domud.Domud1.Manager'];
  const call = async (...a: string[]) => (await s.busctl(['call', ...M, ...a])).stdout.trim();
  // Names and addresses: the state of a running guest moves on by itself.
  const domains = async () => (await call('ListDomains')).replace(/ -?\d+ "[a-z]+" /g, ' ');
  await call('CreateDomain', 'sa{sv}', 'web1', '0');
  const before = await domains();
  const leases = await call('ListLeases');

  const w = await DesktopWindow.open({ bus: s.address, uid });
  t.teardown(() => w.close());
  t.ok((await w.wait('web1', 20, 'Guests')).ok, 'reading is allowed: the list shows');

  t.ok((await w.click('New guest')).ok);
  t.ok((await w.type('Name', 'x1')).ok);
  t.ok((await w.click('Create')).ok);
  t.ok((await w.wait('You are not allowed to create x1.', 20)).ok, 'AccessDenied is "You are not allowed to …"');
  await w.screenshot('not-allowed-create');
  t.equal(await domains(), before, 'no domain was made');
  t.equal(await call('ListLeases'), leases, 'no address was leased');
  t.ok((await w.click('Cancel')).ok);

  for (const r of [await w.select('web1'), await w.wait('MAC address'), await w.click('Destroy…'), await w.click('Destroy')]) t.ok(r.ok, r.error ?? 'done');
  t.ok((await w.wait('You are not allowed to destroy web1.', 20)).ok);
  await w.screenshot('not-allowed-destroy');
  t.equal(await domains(), before, 'web1 is still there');
});
