// Bus faults. The dbus-daemon dies: domud exits non-zero at once (so that
// systemd restarts it) and a new bus plus a new domud on the same state get
// everything back. A client disconnects in the middle of a slow call: the
// call completes or rolls back, nothing leaks, and the domain's lock is free.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BUS_NAME, Client, MANAGER, MANAGER_IFACE, dbRows, errorName, sandbox, settle, sleep, v } from './support.js';

const M = [BUS_NAME, MANAGER, MANAGER_IFACE];

t.test('the dbus-daemon goes away', async (t) => {
  const s = await sandbox(t, { flavour: 'xl' });
  let c = await Client.open(s.address);
  await c.call('CreateDomain', 'sa{sv}', 'web-1', {});
  await c.call('CreateDomain', 'sa{sv}', 'web-2', { address: v('s', '172.20.216.77') });
  await c.call('CreateDomain', 'sa{sv}', 'db', {});
  await c.call('ShutdownDomain', 'sa{sv}', 'db', { wait: v('b', true) });
  const before = await settle(s, c);
  t.same(before.bad, [], 'consistent before');
  t.equal(before.o.sim.length, 2, 'two guests run');
  const rows = dbRows(s.stateDir);
  c.close();

  const daemon = s.daemon!;
  const exited = new Promise<number | null>((r) => daemon.once('exit', (code) => r(code)));
  // The Sandbox keeps its bus private; this test is about killing it.
  const box = s as unknown as { bus: ChildProcess | null; daemon: ChildProcess | null };
  const started = Date.now();
  box.bus!.kill('SIGKILL');
  const code = await exited;
  const ms = Date.now() - started;
  box.daemon = null;
  t.not(code, 0, `domud exits non-zero (${code})`);
  t.ok(ms < 5000, `and quickly (${ms} ms)`);

  // Guests and routes live on without domud or the bus.
  t.equal((await s.sim(['list'])).stdout.trim().split('\n').length, 4, 'the guests still run (with Domain-0)');

  // A new bus at the same address, then a new domud on the same state.
  rmSync(join(s.dir, 'bus'), { force: true });
  box.bus = spawn('dbus-daemon', ['--nofork', '--nopidfile', `--config-file=${join(s.dir, 'bus.conf')}`], { stdio: 'ignore' });
  for (let i = 0; i < 400 && !existsSync(join(s.dir, 'bus')); i++) await sleep(25);
  await s.startDaemon();
  c = await Client.open(s.address);
  t.teardown(() => c.close());
  const after = await settle(s, c);
  t.same(after.bad, [], 'consistent after');
  t.same(dbRows(s.stateDir), rows, 'every lease as it was, row by row');
  // A guest just created reads "running" until the toolstack's list says
  // "blocked" (it is idle); either is a running guest.
  const live = (ds: typeof before.o.domains) => ds.map((d) => ({ ...d, state: d.state === 'blocked' ? 'running' : d.state }));
  t.same(live(after.o.domains), live(before.o.domains), 'every domain adopted with its id, state and address');
  t.same(after.o.routes, before.o.routes, 'the routes untouched');
  // And it works.
  await c.call('StartDomain', 's', 'db');
  await c.call('DestroyDomain', 's', 'web-1');
  const end = await settle(s, c);
  t.same(end.bad, []);
  t.same(end.o.domains.map((d) => d.name).sort(), ['db', 'web-2']);
  t.comment(`bus death: domud exited ${code} after ${ms} ms; ${rows.length} leases and ${before.o.sim.length} running guests recovered`);
});

t.test('clients that disconnect mid-call', async (t) => {
  const s = await sandbox(t, { flavour: 'xl' });
  const c = await Client.open(s.address);
  t.teardown(() => c.close());
  const busctl = (args: string[]) => spawn('busctl', [`--address=${s.address}`, '--timeout=60', 'call', ...M, ...args], { stdio: 'ignore' });
  const dead = (p: ChildProcess) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.once('exit', r)));
  /** Waits until domud holds a lease for each name: their creates have reached it. */
  const leased = async (names: string[]) => {
    for (let i = 0; i < 500; i++) {
      const [rows] = (await c.call('ListLeases')) as [Array<[string, string]>];
      const held = new Set(rows.map((r) => r[1]));
      if (names.every((n) => held.has(n))) return;
      await sleep(20);
    }
    throw new Error(`no lease for some of ${names.join(' ')} after 10 s`);
  };
  /** A read during the slow call is answered at once: no lock held by reads. */
  const quickRead = async (what: string) => {
    const t0 = Date.now();
    await c.call('ListDomains');
    t.ok(Date.now() - t0 < 1000, `ListDomains answered during ${what} (${Date.now() - t0} ms)`);
  };

  // A slow create whose caller is killed.
  t.equal((await s.sim(['fault', 'create', '--delay', '1500', '--times', '1'])).code, 0);
  let p = busctl(['CreateDomain', 'sa{sv}', 'slow', '0']);
  await leased(['slow']);
  p.kill('SIGKILL');
  await dead(p);
  await quickRead('a create whose caller is gone');
  let { o, bad } = await settle(s, c);
  t.same(bad, [], 'consistent after the orphaned create');
  t.ok(o.domains.some((d) => d.name === 'slow'), 'the create completed although nobody waits for its answer');
  await c.call('DestroyDomain', 's', 'slow');
  t.pass('a later call on that domain is not stuck behind a lock');

  // A slow create that fails (and rolls back) with its caller gone.
  // No vif, so that the id is asked of the toolstack (whose lookup fails).
  t.equal((await s.sim(['fault', 'create', '--delay', '1200', '--no-vif', '--times', '1'])).code, 0);
  t.equal((await s.sim(['fault', 'domid', '--fail', '1', '--text', 'xl: lost the domain'])).code, 0);
  p = busctl(['CreateDomain', 'sa{sv}', 'rolled', '0']);
  await leased(['rolled']);
  p.kill('SIGKILL');
  await dead(p);
  ({ o, bad } = await settle(s, c));
  t.same(bad, [], 'consistent after the orphaned, failed create');
  t.notOk(o.domains.some((d) => d.name === 'rolled'), 'rolled back: not known');
  t.notOk(o.sim.some((g) => g.name === 'rolled'), 'rolled back: not running');
  await c.call('CreateDomain', 'sa{sv}', 'rolled', {});
  t.pass('the name can be created again');

  // A shutdown that waits, its caller killed while it waits.
  t.equal((await s.sim(['set', 'shutdown-delay', '1500'])).code, 0);
  p = busctl(['ShutdownDomain', 'sa{sv}', 'rolled', '1', 'wait', 'b', 'true']);
  await sleep(400);
  p.kill('SIGKILL');
  await dead(p);
  await quickRead('a waiting shutdown whose caller is gone');
  for (let i = 0; i < 100; i++) {
    if ((await c.prop(`${MANAGER}/domain/rolled`, 'org.domud.Domud1.Domain', 'State')) === 'stopped') break;
    await sleep(100);
  }
  t.equal(await c.prop(`${MANAGER}/domain/rolled`, 'org.domud.Domud1.Domain', 'State'), 'stopped', 'the shutdown finished');
  ({ bad } = await settle(s, c));
  t.same(bad, [], 'consistent after the orphaned shutdown');
  await c.call('StartDomain', 's', 'rolled');
  t.pass('and the domain starts again');
  await s.sim(['set', 'shutdown-delay', '100']);

  // A dbus-next connection that closes with a slow destroy in flight.
  t.equal((await s.sim(['fault', 'destroy', '--delay', '1000', '--times', '1'])).code, 0);
  const gone = await Client.open(s.address);
  const pending = gone.call('DestroyDomain', 's', 'rolled').then(
    () => 'ok',
    (e) => errorName(e),
  );
  await sleep(300);
  gone.close();
  void pending;
  await quickRead('a destroy whose connection closed');
  ({ o, bad } = await settle(s, c));
  t.same(bad, [], 'consistent after the orphaned destroy');
  t.same(o.domains, [], 'the destroy completed');

  // Twenty callers at once, all killed mid-call: once domud holds a lease
  // for each (a fixed pause is not enough on a busy machine, where some
  // busctl had not sent its call yet).
  t.equal((await s.sim(['fault', 'create', '--delay', '2000', '--times', '20'])).code, 0);
  const many = Array.from({ length: 20 }, (_, i) => busctl(['CreateDomain', 'sa{sv}', `m${i}`, '0']));
  await leased(many.map((_, i) => `m${i}`));
  for (const q of many) q.kill('SIGKILL');
  await Promise.all(many.map(dead));
  await quickRead('twenty orphaned creates');
  ({ o, bad } = await settle(s, c, 30_000));
  t.same(bad, [], 'consistent after twenty orphaned creates');
  t.equal(o.domains.length, 20, 'all twenty completed');
  await Promise.all(o.domains.map((d) => c.call('DestroyDomain', 's', d.name)));
  ({ o, bad } = await settle(s, c));
  t.same(bad, []);
  t.same(o.db, [], 'nothing leaked: no lease left');
  t.equal(await c.call('CreateDomain', 'sa{sv}', 'm0', { address: v('s', '172.20.216.2') }).then(() => 'ok', errorName), 'ok', 'the first address is free again');
  t.comment('disconnects: 24 orphaned calls, each finished or rolled back; no stuck lock, no leaked lease');
});
