// Concurrency through the bus: many clients creating at once get distinct
// addresses; calls for one domain run one after another; calls for
// different domains run side by side (checked from the simulator's trace of
// when each toolstack call started and ended).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startSandbox } from '../../support/daemon.js';
import { Client, DOMAIN_IFACE, MANAGER, MANAGER_IFACE, errorOf, variant } from './fixtures/client.js';

const traceDir = mkdtempSync(join(tmpdir(), 'domud-trace-'));
t.teardown(() => rmSync(traceDir, { recursive: true, force: true }));
// The simulator appends "start|end pid time argv" per call to $XMSIM_TRACE.
// domud runs the toolstack in a clean environment, so the sandbox's wrapper
// script (the Command= domud runs) sets it.
const trace = join(traceDir, 'trace');
process.env.XMSIM_TRACE = trace;

interface Call {
  pid: number;
  start: number;
  end: number;
  argv: string;
}

function calls(): Call[] {
  const byPid = new Map<number, Call>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /^(start|end) (\d+) ([0-9.]+) (.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[2]);
    const c = byPid.get(pid) ?? { pid, start: NaN, end: NaN, argv: m[4]! };
    if (m[1] === 'start') c.start = Number(m[3]);
    else c.end = Number(m[3]);
    byPid.set(pid, c);
  }
  return [...byPid.values()];
}

t.test('concurrent calls', async (t) => {
  const s = await startSandbox(t, {}, false);
  const wrapper = readFileSync(s.toolPath, 'utf8').split('\n');
  wrapper.splice(1, 0, `XMSIM_TRACE='${trace}'; export XMSIM_TRACE`);
  writeFileSync(s.toolPath, wrapper.join('\n'));
  await s.startDaemon();
  const c = await Client.connect(t, s.address);

  // 20 clients, one CreateDomain each, all at once.
  const clients = await Promise.all(Array.from({ length: 20 }, () => Client.connect(t, s.address)));
  const paths = await Promise.all(clients.map((k, i) => k.manager('CreateDomain', 'sa{sv}', [`vm${i}`, {}]).then((r) => r[0] as string)));
  t.equal(new Set(paths).size, 20, '20 objects');
  const addresses = await Promise.all(paths.map((p) => c.prop(p, DOMAIN_IFACE, 'Address')));
  t.equal(new Set(addresses).size, 20, `20 distinct addresses: ${addresses.join(' ')}`);
  const leases = (await c.manager('ListLeases'))[0] as Array<[string, string, string, bigint]>;
  t.equal(leases.length, 20);
  t.equal(new Set(leases.map((l) => l[0])).size, 20, 'no address leased twice');
  t.equal(new Set(leases.map((l) => l[2])).size, 20, 'no MAC twice');
  t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), 20);
  if (s.netns) {
    const routes = (JSON.parse((await s.ip(['-j', 'route', 'show'])).stdout) as Array<{ dst: string }>).filter((r) => r.dst.startsWith('172.20.216.'));
    t.same(routes.map((r) => r.dst).sort(), [...addresses].sort(), 'one route per guest');
  }
  // The same name from two clients at once: one wins, one is told it exists.
  const same = await Promise.allSettled([clients[0]!.manager('CreateDomain', 'sa{sv}', ['twin', {}]), clients[1]!.manager('CreateDomain', 'sa{sv}', ['twin', {}])]);
  t.same(same.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
  t.match((same.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason, { errorName: 'org.domud.Domud1.Error.DomainExists' });
  // Tear the 20 down at once too.
  await Promise.all(clients.map((k, i) => k.manager('DestroyDomain', 's', [`vm${i}`])));
  t.same(((await c.manager('ListLeases'))[0] as unknown[][]).map((l) => l[1]), ['twin']);

  // One domain: Start sent while Shutdown --wait runs waits its turn, then works.
  await s.sim(['set', 'shutdown-delay', '1500']);
  const order: string[] = [];
  const shutdown = c.manager('ShutdownDomain', 'sa{sv}', ['twin', { wait: variant('b', true) }]).then(() => order.push('shutdown'));
  await new Promise((r) => setTimeout(r, 200));
  const start = clients[2]!.manager('StartDomain', 's', ['twin']).then(() => order.push('start'));
  await Promise.all([shutdown, start]);
  t.same(order, ['shutdown', 'start'], 'Start was answered after the Shutdown it queued behind');
  t.match(await c.prop(`${MANAGER}/domain/twin`, DOMAIN_IFACE, 'State'), /^(running|blocked)$/, 'and the domain runs again (not AlreadyRunning)');
  const xs = calls();
  const sd = xs.find((x) => /^shutdown .*twin/.test(x.argv))!;
  const cr = xs.filter((x) => /^create .*twin\.cfg/.test(x.argv)).sort((a, b) => a.start - b.start).at(-1)!;
  t.ok(cr.start >= sd.end, 'the toolstack create began after shutdown -w ended');
  await s.sim(['set', 'shutdown-delay', '300']);

  // Different domains: two slow creates overlap.
  const delay = 2_500;
  await s.sim(['fault', 'create', '--delay', String(delay), '--times', '2']);
  const t0 = Date.now();
  await Promise.all([c.manager('CreateDomain', 'sa{sv}', ['slow1', {}]), clients[3]!.manager('CreateDomain', 'sa{sv}', ['slow2', {}])]);
  const took = Date.now() - t0;
  t.ok(took < 2 * delay, `two ${delay} ms creates took ${took} ms, about one delay, not two`);
  const slow = calls().filter((x) => /^create .*slow[12]\.cfg/.test(x.argv));
  t.equal(slow.length, 2);
  t.ok(slow[0]!.start < slow[1]!.end && slow[1]!.start < slow[0]!.end, 'the two toolstack creates overlapped');
  // And reads overlapped everything: a read during a slow create is answered at once.
  await s.sim(['fault', 'create', '--delay', String(delay), '--times', '1']);
  const slowCreate = c.manager('CreateDomain', 'sa{sv}', ['slow3', {}]);
  await new Promise((r) => setTimeout(r, 300));
  const r0 = Date.now();
  await clients[4]!.manager('GetDomain', 's', ['slow1']);
  t.ok(Date.now() - r0 < delay / 2, `GetDomain during a slow create: ${Date.now() - r0} ms`);
  t.equal(await errorOf(clients[4]!.manager('GetDomain', 's', ['slow3'])), 'org.domud.Domud1.Error.NoSuchDomain', 'a domain being created is not one yet');
  await slowCreate;
});
