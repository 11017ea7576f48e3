// domuctl against the real daemon on a private system-like bus (Sandbox):
// every command in human and JSON output, the error lines and exit codes.
import t from 'tap';
import { argv, background, domuctl, on, sandbox, spawnDomuctl, startDaemon, until } from './fixtures/domuctl.js';

t.setTimeout(900_000);

/** Labels right-aligned: every first colon in the same column. */
function aligned(text: string): boolean {
  return new Set(text.trimEnd().split('\n').map((l) => l.indexOf(':'))).size === 1;
}

const s = await sandbox();
t.teardown(() => s.destroy());

t.test('daemon not running: exit 9 and one line', async (t) => {
  const r = await on(s, ['list']);
  t.equal(r.code, 9);
  t.equal(r.stdout, '');
  t.match(r.stderr, /^domuctl: domud is not running: .*\(org\.freedesktop\.DBus\.Error\.ServiceUnknown\)\n$/);
});

t.test('no bus at all: exit 9, no error name of our own', async (t) => {
  const r = await domuctl(['--bus', `unix:path=${s.dir}/nope`, 'status']);
  t.equal(r.code, 9);
  t.match(r.stderr, /^domuctl: cannot talk to the bus at unix:path=.*nope: connect ENOENT.*\n$/);
  const sys = await domuctl(['leases'], { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${s.dir}/nope` });
  t.equal(sys.code, 9, '$DBUS_SYSTEM_BUS_ADDRESS is honoured');
  t.match(sys.stderr, /nope/);
  const bad = await domuctl(['--bus', 'frob:x=1', 'list']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^domuctl: bad bus address "frob:x=1": unknown address type:frob\n$/);
});

t.test('the executable ends with the status and prints the lines that run() gives', async (t) => {
  for (const args of [['--bus', s.address, 'list'], ['--bus', 'frob:x=1', 'list']]) {
    t.same(await spawnDomuctl(args), await domuctl(args), args.join(' '));
  }
});

t.test('with the daemon', async (t) => {
  await startDaemon(s);
  const monitor = await background(['--bus', s.address, 'monitor'], /monitoring/);
  const jmonitor = await background(['--bus', s.address, '--json', 'monitor'], /monitoring/);

  t.test('empty list and leases', async (t) => {
    const l = await on(s, ['list']);
    t.equal(l.code, 0);
    t.equal(l.stdout, 'No domains.\n');
    t.same(JSON.parse((await on(s, ['list', '--json'])).stdout), []);
    t.equal((await on(s, ['leases'])).stdout, 'No leases.\n');
    t.same(JSON.parse((await on(s, ['--json', 'leases'])).stdout), []);
  });

  t.test('status', async (t) => {
    const r = await on(s, ['status']);
    t.equal(r.code, 0);
    t.match(r.stdout, /^ *Network: 172\.20\.216\.0\/24\nDom0 address: 172\.20\.216\.1\n *Toolstack: xl\n *Forwarding: off\n *Leases: 0 of 253 in use\n *Version: \S+\n$/);
    t.ok(aligned(r.stdout), 'aligned');
    const j = JSON.parse((await on(s, ['status', '--json'])).stdout);
    t.same(j, { network: '172.20.216.0/24', dom0Address: '172.20.216.1', toolstack: 'xl', forwardingEnabled: false, leasesInUse: 0, leasesTotal: 253, version: j.version });
    t.type(j.version, 'string');
    if (s.netns) {
      // The daemon reads (never writes) ip_forward; someone else may turn it on.
      await s.exec('ip', ['netns', 'exec', s.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      t.match((await on(s, ['status'])).stdout, /Forwarding: on \(domud never turns it on/);
      await s.exec('ip', ['netns', 'exec', s.netns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0']);
    }
  });

  t.test('create with defaults, show, list', async (t) => {
    const c = await on(s, ['create', 'web1']);
    t.equal(c.code, 0, c.stderr);
    t.match(c.stdout, /^ *Name: web1\n *State: (running|blocked)\nDomain ID: \d+\n *Address: 172\.20\.216\.2\n *MAC: 00:16:3e(:[0-9a-f]{2}){3}\n *Vif: vif\d+\.0\n *Memory: 64 MiB\n *VCPUs: 1\n *Created: \d{4}-\d\d-\d\dT.*Z\n *Object: \/org\/domud\/Domud1\/domain\/web1\n$/);
    t.ok(aligned(c.stdout), 'aligned');
    const show = JSON.parse((await on(s, ['--json', 'show', 'web1'])).stdout);
    t.match(show, { name: 'web1', address: '172.20.216.2', memoryMiB: 64, vcpus: 1, path: '/org/domud/Domud1/domain/web1' });
    t.ok(show.id >= 0);
    t.ok(Math.abs(show.createdAt / 1000 - Date.now()) < 60_000, 'createdAt is µs since the epoch');
    const l = await on(s, ['list']);
    t.match(l.stdout, /^NAME  ID  STATE +ADDRESS\nweb1 +\d+  \w+ +172\.20\.216\.2\n\n1 domain listed\.\n$/);
    t.equal(l.stdout.split('\n')[0]!.indexOf('ADDRESS'), l.stdout.split('\n')[1]!.indexOf('172.'), 'columns line up');
    // a running guest's state moves between running and blocked, as on Xen, between two calls
    const listed = JSON.parse((await on(s, ['list', '--json'])).stdout);
    t.equal(listed.length, 1);
    t.same(Object.keys(listed[0]), ['name', 'id', 'state', 'address', 'path']);
    t.match(listed[0], { name: 'web1', id: show.id, state: /^(running|blocked)$/, address: '172.20.216.2', path: show.path });
  });

  t.test('create with every option', async (t) => {
    const r = await on(s, [
      '--json', 'create', 'db-2', '--memory', '96', '--vcpus', '2', '--kernel', `${s.dir}/vmlinuz-guest`, '--ramdisk', `${s.dir}/vmlinuz-guest`,
      '--extra', 'console=hvc0', '--root', '/dev/xvda1 ro', '--disk', 'phy:/dev/vg0/db,xvda1,w', '--disk', 'file:/srv/db2.img,xvda2,w',
      '--address', '172.20.216.77', '--mac', '00:16:3e:00:00:77',
    ]);
    t.equal(r.code, 0, r.stderr);
    t.match(JSON.parse(r.stdout), { name: 'db-2', address: '172.20.216.77', mac: '00:16:3e:00:00:77', memoryMiB: 96, vcpus: 2, path: '/org/domud/Domud1/domain/db_2d2' });
    const leases = await on(s, ['leases']);
    t.match(leases.stdout, /^ADDRESS +NAME +MAC +ACQUIRED\n172\.20\.216\.2 +web1 +00:16:3e\S+ +\d{4}-.*Z\n172\.20\.216\.77 +db-2 +00:16:3e:00:00:77 +\d{4}-.*Z\n\n2 leases listed\.\n$/);
    const j = JSON.parse((await on(s, ['leases', '--json'])).stdout);
    t.match(j, [{ address: '172.20.216.2', name: 'web1' }, { address: '172.20.216.77', name: 'db-2', mac: '00:16:3e:00:00:77' }]);
    t.type(j[0].acquiredAt, 'number');
    t.match((await on(s, ['status'])).stdout, /Leases: 2 of 253 in use/);
  });

  t.test('errors: one line, distinct exit codes', async (t) => {
    const cases: [string[], number, RegExp][] = [
      [['show', 'web9'], 3, /web9.*NoSuchDomain/],
      [['start', 'web9'], 3, /NoSuchDomain/],
      [['destroy', 'web9'], 3, /NoSuchDomain/],
      [['create', 'web1'], 4, /DomainExists/],
      [['create', 'bad name!'], 2, /InvalidName/],
      [['create', 'x1', '--address', '172.20.216.77'], 6, /AddressUnavailable/],
      [['create', 'x2', '--address', '10.0.0.5'], 6, /AddressUnavailable/],
      [['create', 'x3', '--mac', 'ff:ff:ff:ff:ff:ff'], 2, /InvalidArgument/],
      [['start', 'web1'], 10, /AlreadyRunning/],
    ];
    for (const [args, code, name] of cases) {
      const r = await on(s, args);
      t.equal(r.code, code, args.join(' '));
      t.match(r.stderr, /^domuctl: [^\n]+ \(org\.[A-Za-z0-9.]+\)\n$/, `${args.join(' ')}: one line`);
      t.match(r.stderr, name);
      t.equal(r.stdout, '');
    }
    t.same(JSON.parse((await on(s, ['list', '--json'])).stdout).map((d: { name: string }) => d.name).sort(), ['db-2', 'web1'], 'nothing was created');
  });

  t.test('on a terminal: a progress indicator on stderr', async (t) => {
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const cmd = [process.execPath, ...argv(['--bus', s.address, 'create', 'tty1'])].map(q).join(' ');
    const r = await s.exec('script', ['-qec', cmd, '/dev/null']);
    t.equal(r.code, 0, r.stdout);
    t.match(r.stdout, /\| creating tty1 \d+s/);
    t.match(r.stdout, /\r\x1b\[K/, 'and clears it');
    t.match(r.stdout, /Name: tty1/);
    t.equal((await on(s, ['destroy', 'tty1'])).code, 0);
  });

  t.test('an unprivileged caller may read but not change', async (t) => {
    const l = await on(s, ['list'], { uid: 65534 });
    t.equal(l.code, 0, l.stderr);
    t.match(l.stdout, /web1/);
    for (const args of [['create', 'nope'], ['shutdown', 'web1'], ['destroy', 'web1'], ['start', 'web1']]) {
      const r = await on(s, args, { uid: 65534 });
      t.equal(r.code, 5, `${args[0]}: ${r.stderr}`);
      t.match(r.stderr, /^domuctl: [^\n]+ \(org\.freedesktop\.DBus\.Error\.(AccessDenied|InteractiveAuthorizationRequired)\)\n$/);
    }
  });

  t.test('shutdown, start, shutdown --wait --timeout, destroy', async (t) => {
    const sd = await on(s, ['shutdown', 'web1']);
    t.equal(sd.code, 0, sd.stderr);
    t.equal(sd.stdout, '');
    const w = await on(s, ['shutdown', 'db-2', '--wait', '--json']);
    t.equal(w.code, 0, w.stderr);
    t.same(JSON.parse(w.stdout), { name: 'db-2', shutdown: 'stopped' });
    const show = JSON.parse((await on(s, ['show', 'db-2', '--json'])).stdout);
    t.match(show, { state: 'stopped', id: -1, vif: '' });
    t.match((await on(s, ['show', 'db-2'])).stdout, /Domain ID: -\n.*\n.*\n +Vif: -\n/);
    t.match((await on(s, ['list'])).stdout, /db-2 +- +stopped +172\.20\.216\.77\n/);
    const again = await on(s, ['shutdown', 'db-2']);
    t.equal(again.code, 10, again.stderr);
    t.match(again.stderr, /NotRunning/);
    const st = await on(s, ['start', 'db-2', '--json']);
    t.equal(st.code, 0, st.stderr);
    t.same(JSON.parse(st.stdout), { name: 'db-2', started: true });
    for (let i = 0; i < 200 && JSON.parse((await on(s, ['show', 'web1', '--json'])).stdout).state !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 50));
    t.equal((await on(s, ['start', 'web1'])).code, 0, 'web1 stopped after the shutdown request, and starts again');
    const wt = await on(s, ['shutdown', 'db-2', '--timeout', '20']);
    t.equal(wt.code, 0, wt.stderr);
    t.equal(wt.stdout, '');
    const sj = await on(s, ['--json', 'shutdown', 'web1']);
    t.same(JSON.parse(sj.stdout), { name: 'web1', shutdown: 'requested' });
    t.equal((await on(s, ['destroy', 'web1'])).code, 0);
    const d = await on(s, ['destroy', 'db-2', '--json']);
    t.equal(d.code, 0, d.stderr);
    t.same(JSON.parse(d.stdout), { name: 'db-2', destroyed: true });
    t.equal((await on(s, ['list'])).stdout, 'No domains.\n');
  });

  t.test('monitor saw the other clients\' changes', async (t) => {
    await until(() => /DomainRemoved db-2/.test(monitor.out()), 'DomainRemoved db-2 in monitor');
    const out = monitor.out();
    t.match(out, /^\d\d:\d\d:\d\d\.\d{3} DomainNew web1 \/org\/domud\/Domud1\/domain\/web1$/m);
    t.match(out, /^\S+ LeaseAcquired 172\.20\.216\.2 web1$/m);
    t.match(out, /^\S+ PropertiesChanged \/org\/domud\/Domud1 .*LeasesInUse=1/m);
    t.match(out, /^\S+ LeaseReleased 172\.20\.216\.77 db-2$/m);
    monitor.child.kill('SIGINT');
    t.equal(await monitor.exit, 0, 'Ctrl-C ends it with 0');
    await until(() => /DomainRemoved/.test(jmonitor.out()), 'json monitor');
    const lines = jmonitor.out().trim().split('\n').map((l) => JSON.parse(l));
    t.match(lines.find((l) => l.signal === 'DomainNew'), { signal: 'DomainNew', name: 'web1', domain: '/org/domud/Domud1/domain/web1' });
    t.match(lines.find((l) => l.signal === 'LeaseAcquired'), { address: '172.20.216.2', name: 'web1' });
    t.match(lines.find((l) => l.signal === 'PropertiesChanged' && l.path === '/org/domud/Domud1/domain/db_2d2'), { interface: 'org.domud.Domud1.Domain', changed: {} });
    t.ok(lines.every((l) => typeof l.time === 'string'));
    jmonitor.child.kill('SIGTERM');
    t.equal(await jmonitor.exit, 0);
  });

  t.test('doctor', async (t) => {
    const r = await on(s, ['doctor']);
    t.match(r.stdout, /^CHECK +STATUS +MESSAGE\n/);
    t.match(r.stdout, /\n\n\d+ checks: \d+ errors?, \d+ warnings?\.\n$/);
    const j = JSON.parse((await on(s, ['doctor', '--json'])).stdout) as { id: string; status: string; message: string }[];
    t.ok(j.length > 0);
    for (const c of j) t.match(c, { id: String, status: /^(ok|warning|error)$/, message: String });
    const errors = j.filter((c) => c.status === 'error').length;
    t.equal(r.code, errors > 0 ? 1 : 0, 'exit 1 exactly when a check is an error');
    t.ok(errors > 0, 'this sandbox is no dom0 (no /proc/xen)');
  });

  t.test('monitor ends with 9 when the bus goes', async (t) => {
    const m = await background(['--bus', s.address, 'monitor'], /monitoring/);
    await s.stopDaemon();
    await s.destroy();
    t.equal(await m.exit, 9);
    t.match(m.err(), /domuctl: the bus at unix:path=\S+ closed the connection\n$/);
  });
});
