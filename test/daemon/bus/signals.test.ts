// Signals as a subscribed client sees them: the manager's own signals, the
// ObjectManager's, and PropertiesChanged on the manager and a domain object,
// through match rules on a real bus (dbus-next), plus `gdbus monitor`.
import { spawn } from 'node:child_process';
import t from 'tap';
import { startSandbox } from '../../support/daemon.js';
import { Client, DOMAIN_IFACE, MANAGER, MANAGER_IFACE, OM, PROPS, type Seen, unwrap, variant, errorOf } from './fixtures/client.js';

const D = '/org/domud/Domud1/domain/web_2d1';

t.test('a subscribed client sees every signal of a domain\'s life', async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  // Match rules as a desktop tool would write them, one per kind.
  await c.match(`type='signal',sender='org.domud.Domud1',path='${MANAGER}',interface='${MANAGER_IFACE}'`);
  await c.match(`type='signal',sender='org.domud.Domud1',path='${MANAGER}',interface='${OM}'`);
  await c.match(`type='signal',sender='org.domud.Domud1',interface='${PROPS}',member='PropertiesChanged'`);
  // A client subscribed to nothing hears nothing (the signals are not broadcast to it by accident).
  const deaf = await Client.connect(t, s.address);

  // gdbus monitor, a real client of its own, subscribed to the daemon.
  const mon = spawn('gdbus', ['monitor', '--address', s.address, '--dest', 'org.domud.Domud1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let monOut = '';
  mon.stdout.on('data', (b: Buffer) => (monOut += b.toString()));
  t.teardown(() => {
    mon.kill('SIGKILL');
  });
  // gdbus monitor prints a line once it has subscribed.
  const until = Date.now() + 10_000;
  while (!/Monitoring signals/.test(monOut) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  t.match(monOut, /Monitoring signals/, 'gdbus monitor is listening');

  const [path] = await c.manager('CreateDomain', 'sa{sv}', ['web-1', { memory: variant('u', 80) }]);
  t.equal(path, D);
  const is = (iface: string, member: string, p = MANAGER) => (x: Seen) => x.iface === iface && x.member === member && x.path === p;

  const nw = await c.waitFor(is(MANAGER_IFACE, 'DomainNew'));
  t.same(nw.body, ['web-1', D], 'DomainNew carries name and path');
  const acq = await c.waitFor(is(MANAGER_IFACE, 'LeaseAcquired'));
  t.same(acq.body, ['172.20.216.2', 'web-1'], 'LeaseAcquired carries address and name');
  const added = await c.waitFor(is(OM, 'InterfacesAdded'));
  t.equal(added.body[0], D);
  const ifaces = added.body[1] as Record<string, Record<string, { value: unknown }>>;
  t.ok(DOMAIN_IFACE in ifaces, 'InterfacesAdded names the domain interface');
  const dp = unwrap(ifaces[DOMAIN_IFACE] as never);
  t.match(dp, { Name: 'web-1', Address: '172.20.216.2', MemoryMiB: 80, VCpus: 1, State: /^(running|blocked)$/ });
  t.ok((dp.DomainId as number) > 0);
  t.equal(dp.Vif, `vif${dp.DomainId}.0`);
  t.equal(typeof dp.CreatedAt, 'bigint', 'CreatedAt is a t');
  for (const std of ['org.freedesktop.DBus.Properties', 'org.freedesktop.DBus.Introspectable', 'org.freedesktop.DBus.Peer']) {
    t.ok(std in ifaces, `InterfacesAdded lists ${std}`);
  }
  const inUse = await c.waitFor((x) => is(PROPS, 'PropertiesChanged')(x) && x.body[0] === MANAGER_IFACE);
  t.same(unwrap(inUse.body[1]), { LeasesInUse: 1 }, 'LeasesInUse changed to 1');
  t.same(inUse.body[2], []);
  // Order: the object exists (DomainNew) before its lease is announced.
  t.ok(c.seen.indexOf(nw) < c.seen.indexOf(acq), 'DomainNew before LeaseAcquired');

  // GetManagedObjects: every domain with its properties, in one call.
  await c.manager('CreateDomain', 'sa{sv}', ['db.x', {}]);
  await c.waitFor((x) => is(MANAGER_IFACE, 'DomainNew')(x) && x.body[0] === 'db.x');
  const [managed] = await c.call(MANAGER, OM, 'GetManagedObjects');
  t.same(Object.keys(managed).sort(), ['/org/domud/Domud1/domain/db_2ex', D]);
  for (const [p, objIfaces] of Object.entries(managed as Record<string, Record<string, Record<string, { value: unknown }>>>)) {
    const props = unwrap(objIfaces[DOMAIN_IFACE] as never);
    t.same(props, await c.props(p, DOMAIN_IFACE), `GetManagedObjects agrees with GetAll for ${p}`);
    t.same(
      Object.keys(props).sort(),
      ['Address', 'CreatedAt', 'DomainId', 'MacAddress', 'MemoryMiB', 'Name', 'State', 'VCpus', 'Vif'],
      'every property of the domain interface',
    );
  }

  // Shutdown --wait: State, DomainId and Vif change on the domain object.
  const mark = c.seen.length;
  await c.manager('ShutdownDomain', 'sa{sv}', ['web-1', { wait: variant('b', true) }]);
  const down = await c.waitFor((x) => is(PROPS, 'PropertiesChanged', D)(x), 10_000, mark);
  t.equal(down.body[0], DOMAIN_IFACE);
  t.same(unwrap(down.body[1]), { DomainId: -1, State: 'stopped', Vif: '' }, 'stopped, no id, no vif: in one signal');
  t.same(down.body[2], []);

  const mark2 = c.seen.length;
  await c.manager('StartDomain', 's', ['web-1']);
  const up = await c.waitFor((x) => is(PROPS, 'PropertiesChanged', D)(x), 10_000, mark2);
  const upProps = unwrap(up.body[1]);
  t.match(upProps, { State: 'running' });
  t.ok((upProps.DomainId as number) > (dp.DomainId as number), 'a new domain id');
  t.equal(upProps.Vif, `vif${upProps.DomainId}.0`);
  t.notOk(
    c.seen.slice(mark).some((x) => x.iface === MANAGER_IFACE || x.member === 'InterfacesAdded'),
    'no DomainNew or lease signal for a restart',
  );
  t.notOk(
    c.seen.slice(mark).some((x) => x.member === 'PropertiesChanged' && x.body[0] === MANAGER_IFACE),
    'LeasesInUse does not change on shutdown and start',
  );

  // Destroy: DomainRemoved, LeaseReleased, InterfacesRemoved, LeasesInUse.
  const mark3 = c.seen.length;
  await c.manager('DestroyDomain', 's', ['web-1']);
  t.same((await c.waitFor(is(MANAGER_IFACE, 'DomainRemoved'), 10_000, mark3)).body, ['web-1', D]);
  t.same((await c.waitFor(is(MANAGER_IFACE, 'LeaseReleased'), 10_000, mark3)).body, ['172.20.216.2', 'web-1']);
  const removed = await c.waitFor(is(OM, 'InterfacesRemoved'), 10_000, mark3);
  t.equal(removed.body[0], D);
  t.ok((removed.body[1] as string[]).includes(DOMAIN_IFACE), 'InterfacesRemoved names the domain interface');
  const inUse2 = await c.waitFor((x) => is(PROPS, 'PropertiesChanged')(x) && x.body[0] === MANAGER_IFACE, 10_000, mark3);
  t.same(unwrap(inUse2.body[1]), { LeasesInUse: 1 });
  const [after] = await c.call(MANAGER, OM, 'GetManagedObjects');
  t.same(Object.keys(after), ['/org/domud/Domud1/domain/db_2ex'], 'the destroyed domain is no longer managed');

  // Failed calls emit nothing.
  const mark4 = c.seen.length;
  t.equal(await errorOf(c.manager('CreateDomain', 'sa{sv}', ['db.x', {}])), 'org.domud.Domud1.Error.DomainExists');
  t.equal(await errorOf(c.manager('CreateDomain', 'sa{sv}', ['bad name', {}])), 'org.domud.Domud1.Error.InvalidName');
  await c.call(MANAGER, 'org.freedesktop.DBus.Peer', 'Ping'); // a round trip, so anything emitted has arrived
  t.same(c.seen.slice(mark4), [], 'no signal for a refused call');

  t.same(deaf.seen.filter((x) => x.path !== '/org/freedesktop/DBus'), [], 'an unsubscribed client received no signal of domud');

  // gdbus monitor saw the same, by name.
  const mUntil = Date.now() + 5_000;
  while (!/DomainRemoved/.test(monOut) && Date.now() < mUntil) await new Promise((r) => setTimeout(r, 25));
  t.match(monOut, /org\.domud\.Domud1\.Manager\.DomainNew \('web-1', objectpath '\/org\/domud\/Domud1\/domain\/web_2d1'\)/);
  t.match(monOut, /org\.domud\.Domud1\.Manager\.LeaseAcquired \('172\.20\.216\.2', 'web-1'\)/);
  t.match(monOut, /org\.freedesktop\.DBus\.Properties\.PropertiesChanged \('org\.domud\.Domud1\.Domain', \{'DomainId': <-1>, 'State': <'stopped'>, 'Vif': <''>\}, @as \[\]\)/);
  t.match(monOut, /org\.domud\.Domud1\.Manager\.DomainRemoved \('web-1'/);
});

t.test('busctl monitor sees the signals too', async (t) => {
  const s = await startSandbox(t, {});
  const mon = spawn('busctl', [`--address=${s.address}`, '--json=short', 'monitor', 'org.domud.Domud1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  mon.stdout.on('data', (b: Buffer) => (out += b.toString()));
  t.teardown(() => {
    mon.kill('SIGKILL');
  });
  // busctl monitor becomes a monitor (BecomeMonitor) at once; give it a moment to attach.
  const c = await Client.connect(t, s.address);
  await new Promise((r) => setTimeout(r, 300));
  await c.manager('CreateDomain', 'sa{sv}', ['mon', {}]);
  const until = Date.now() + 10_000;
  const signals = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; member?: string; payload?: { data: unknown[] } })
      .filter((m) => m.type === 'signal');
  while (!['LeaseAcquired', 'InterfacesAdded', 'DomainNew'].every((x) => signals().some((m) => m.member === x)) && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
  const members = signals().map((m) => m.member);
  t.ok(members.includes('DomainNew'), 'DomainNew');
  t.ok(members.includes('InterfacesAdded'), 'InterfacesAdded');
  t.same(signals().find((m) => m.member === 'LeaseAcquired')?.payload?.data, ['172.20.216.2', 'mon']);
});
