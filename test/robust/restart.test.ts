// Restarts: SIGTERM exits 0 and the next daemon keeps every lease and adopts
// the running guests; SIGKILL in the middle of creates rolls back what did
// not come up and adopts what did; SIGKILL once the guest exists keeps it as
// a domain; a second daemon on the same state directory refuses to run and
// leaves the first alone.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Sandbox } from '../../src/dev/sandbox.js';
import { DAEMON_ENTRY, startSandbox } from '../support/daemon.js';
import { CHILD_NODE_ARGS } from '../support/loader.js';
import { Client, DOMAIN_IFACE, eventually, variant } from '../daemon/bus/fixtures/client.js';

type Lease = [string, string, string, bigint];
type Row = [string, number, string, string, string];

async function rangeRoutes(s: Sandbox): Promise<string[]> {
  if (!s.netns) return [];
  const r = await s.ip(['-j', 'route', 'show']);
  return (JSON.parse(r.stdout || '[]') as Array<{ dst: string; dev: string; prefsrc?: string }>)
    .filter((x) => x.dst.startsWith('172.20.216.'))
    .map((x) => `${x.dst} dev ${x.dev} src ${x.prefsrc}`)
    .sort();
}

/** The simulator's faults not yet taken. */
async function faultsLeft(s: Sandbox): Promise<Record<string, unknown>> {
  return (JSON.parse((await s.sim(['state'])).stdout) as { faults: Record<string, unknown> }).faults;
}

/** Pids of simulator processes running `create` for this sandbox (children the daemon left behind). */
function simCreates(s: Sandbox): number[] {
  return simCalls((argv) => argv.includes('create') && argv.some((a) => a.startsWith(s.stateDir)));
}

/** Pids of simulator processes whose argv passes `match`. */
function simCalls(match: (argv: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(p)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const argv = cmd.split('\0');
    if (argv.some((a) => a.endsWith('/xm-sim')) && match(argv)) pids.push(Number(p));
  }
  return pids;
}

t.test('SIGTERM, SIGKILL mid-create, and a second daemon', async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  const leases = async () => ((await c.manager('ListLeases'))[0] as Lease[]).map((l) => l.map(String).join(' ')).sort();
  const rows = async () => ((await c.manager('ListDomains'))[0] as Row[]).sort((a, b) => a[0].localeCompare(b[0]));

  await c.manager('CreateDomain', 'sa{sv}', ['a', {}]);
  await c.manager('CreateDomain', 'sa{sv}', ['b', {}]);
  await c.manager('CreateDomain', 'sa{sv}', ['c', {}]);
  await c.manager('ShutdownDomain', 'sa{sv}', ['c', { wait: variant('b', true) }]);
  // Let a reconcile round replace "running" (what create assumes) with the toolstack's own state.
  await eventually(async () => (await rows()).every((x) => x[2] !== 'running'), 10_000, 'the toolstack\'s states');
  const leases0 = await leases();
  const rows0 = await rows();
  const routes0 = await rangeRoutes(s);
  t.equal(leases0.length, 3);
  if (s.netns) t.equal(routes0.length, 2, 'routes of a and b');

  // SIGTERM: exit 0, nothing lost; the next daemon adopts a and b as they run.
  t.equal(await s.stopDaemon('SIGTERM'), 0, 'SIGTERM exits 0');
  t.match(readFileSync(s.logPath, 'utf8'), /"msg":"stopped"/);
  t.same(await rangeRoutes(s), routes0, 'routes stay while domud is down');
  await s.startDaemon();
  t.same(await leases(), leases0, 'every lease kept, with its MAC and time');
  t.same(await rows(), rows0, 'same ids, states, addresses and paths');
  t.same(await rangeRoutes(s), routes0, 'routes intact');

  // A second daemon on the same state directory: exit 1, a clear message, the first untouched.
  const argv = [...CHILD_NODE_ARGS, DAEMON_ENTRY, '--config', s.configPath, '--bus', s.address];
  const second = s.netns ? spawn('ip', ['netns', 'exec', s.netns, process.execPath, ...argv]) : spawn(process.execPath, argv);
  t.teardown(() => {
    if (second.exitCode === null) second.kill('SIGKILL');
  });
  let err = '';
  second.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  second.stdout!.resume();
  const code = await new Promise<number | null>((r) => second.on('exit', (x) => r(x)));
  t.equal(code, 1, 'the second daemon exits 1');
  t.match(err, `another domud is already running on ${s.stateDir}`, 'the message names the state directory');
  t.ok(await s.nameOwned(), 'the first still owns the name');
  t.same(await leases(), leases0, 'and still answers, with every lease');
  t.equal(s.daemon?.exitCode, null, 'the first is still running');

  // SIGKILL while two creates wait for the toolstack.
  const r = await s.sim(['fault', 'create', '--hang', '--times', '2']);
  t.equal(r.code, 0, r.stderr);
  const inFlight = [c.manager('CreateDomain', 'sa{sv}', ['m-up', {}]), c.manager('CreateDomain', 'sa{sv}', ['m-down', {}])].map((p) =>
    p.then(
      () => 'answered',
      () => 'failed',
    ),
  );
  // Both toolstack calls are running and have taken their fault (so they hang, not the simulator's start-up).
  await eventually(async () => simCreates(s).length === 2 && !('create' in (await faultsLeft(s))), 15_000, 'both creates to hang in the toolstack');
  t.same(readdirSync(join(s.stateDir, 'domains')).sort(), ['a.cfg', 'b.cfg', 'c.cfg', 'm-down.cfg', 'm-up.cfg']);
  t.equal(await s.stopDaemon('SIGKILL'), null, 'killed');
  t.same(await Promise.all(inFlight), ['failed', 'failed'], 'the callers got an error (the daemon vanished), not a hang');
  // The hung toolstack calls outlive the daemon; end them, and let one of
  // the creates "have worked" by running it to the end as xl would have.
  for (const pid of simCreates(s)) process.kill(pid, 'SIGKILL');
  await eventually(() => simCreates(s).length === 0, 5_000, 'the hung creates to go');
  const made = await s.sim(['create', join(s.stateDir, 'domains', 'm-up.cfg')]);
  t.equal(made.code, 0, `m-up came up behind the dead daemon: ${made.stderr}`);

  await s.startDaemon();
  const after = await rows();
  t.same(
    after.map((x) => x[0]),
    ['a', 'b', 'c', 'm-up'],
    'm-up adopted, m-down rolled back',
  );
  const up = after.find((x) => x[0] === 'm-up')!;
  t.ok(up[1] > 0, 'm-up has its domain id');
  t.match(await c.prop(up[4], DOMAIN_IFACE, 'State'), /^(running|blocked)$/);
  // m-down is rolled back only once its create could no longer finish
  // (the toolstack timeout plus grace), since a dead daemon's xl goes on.
  await eventually(() => /rolled back a creation that was interrupted/.test(readFileSync(s.logPath, 'utf8')), 40_000, 'm-down to be rolled back');
  const leases1 = await leases();
  t.same(leases1.filter((l) => !l.includes(' m-up ')), leases0, 'no lease lost or changed');
  t.equal(new Set(leases1.map((l) => l.split(' ')[0])).size, leases1.length, 'no address twice');
  t.notOk(leases1.some((l) => l.includes(' m-down ')), 'the rolled-back create holds no lease');
  t.same(readdirSync(join(s.stateDir, 'domains')).sort(), ['a.cfg', 'b.cfg', 'c.cfg', 'm-up.cfg'], 'm-down\'s config removed');
  if (s.netns) {
    const routes = await rangeRoutes(s);
    t.same(routes.filter((x) => !x.includes(up[3])), routes0, 'the old routes intact');
    t.ok(routes.includes(`${up[3]} dev vif${up[1]}.0 src 172.20.216.1`), 'the adopted domain got its route');
  }
  const log = readFileSync(s.logPath, 'utf8');
  t.match(log, /adopting a domain whose creation was interrupted/);
  t.match(log, /rolled back a creation that was interrupted/);
  // And the rolled-back name is free again.
  await c.manager('CreateDomain', 'sa{sv}', ['m-down', {}]);
  t.equal((await leases()).length, 5);
});

t.test('SIGKILL after the toolstack made the guest, before its id came back: the domain is kept', async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  const name = 'kept-mid-domid';
  // No vif, so that the id is asked of the toolstack (whose lookup hangs).
  t.equal((await s.sim(['fault', 'create', '--no-vif', '--times', '1'])).code, 0);
  t.equal((await s.sim(['fault', 'domid', '--hang', '--times', '1'])).code, 0);
  const call = c.manager('CreateDomain', 'sa{sv}', [name, {}]).then(
    () => 'answered',
    () => 'failed',
  );
  const lookups = () => simCalls((argv) => argv.includes('domid') && argv.includes(name));
  await eventually(async () => lookups().length === 1 && !('domid' in (await faultsLeft(s))), 15_000, 'the id lookup to hang');
  t.equal(await s.stopDaemon('SIGKILL'), null, 'killed');
  t.equal(await call, 'failed', 'the caller got an error, not a hang');
  for (const pid of lookups()) process.kill(pid, 'SIGKILL');
  // And the guest stops while domud is down (as after a power cut).
  t.equal((await s.sim(['destroy', name])).code, 0);

  // The lease was marked ready, durably, once the guest existed: the next
  // daemon knows a stopped domain, not a creation to roll back.
  await s.startDaemon();
  const rows = (await c.manager('ListDomains'))[0] as Row[];
  t.same(rows.map((x) => [x[0], x[1], x[2]]), [[name, -1, 'stopped']], 'a stopped domain');
  const [, , , address, path] = rows[0]!;
  t.same(readdirSync(join(s.stateDir, 'domains')), [`${name}.cfg`], 'its config kept');
  await c.manager('StartDomain', 's', [name]);
  const id = Number(await c.prop(path, DOMAIN_IFACE, 'DomainId'));
  t.ok(id > 0, 'StartDomain brings it back');
  t.equal(await c.prop(path, DOMAIN_IFACE, 'Address'), address, 'on the same address');
  if (s.netns) t.same(await rangeRoutes(s), [`${address} dev vif${id}.0 src 172.20.216.1`], 'with its route');
  t.notMatch(readFileSync(s.logPath, 'utf8'), /rolled back/, 'nothing rolled back');
});
