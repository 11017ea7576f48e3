// Toolstack faults, made by the simulator on request: a failing create, a
// hanging create, garbage from list, a shutdown that outlasts its timeout,
// a domain gone behind domud's back, no toolstack at all. Every failed call
// rolls back everything, and reads are answered while the toolstack hangs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Sandbox } from '../../src/dev/sandbox.js';
import { startSandbox } from '../support/daemon.js';
import { CallError, Client, DOMAIN_IFACE, MANAGER, MANAGER_IFACE, PROPS, eventually, variant, errorOf } from '../daemon/bus/fixtures/client.js';

const P = 'org.domud.Domud1.Error.';

async function rangeRoutes(s: Sandbox): Promise<Array<{ dst: string; dev: string }>> {
  if (!s.netns) return [];
  const r = await s.ip(['-j', 'route', 'show']);
  return (JSON.parse(r.stdout || '[]') as Array<{ dst: string; dev: string }>).filter((x) => x.dst.startsWith('172.20.216.'));
}

async function failure(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CallError) return e;
    throw e;
  }
  throw new Error('the call succeeded');
}

t.test('toolstack faults roll back and never block reads', async (t) => {
  const s = await startSandbox(t, { config: { Toolstack: { Timeout: '3' } } });
  const c = await Client.connect(t, s.address);
  await c.subscribeAll();
  const sim = async (...args: string[]) => {
    const r = await s.sim(args);
    t.equal(r.code, 0, `xm-sim ${args.join(' ')}: ${r.stderr}`);
  };
  const leases = async () => ((await c.manager('ListLeases'))[0] as unknown[][]).map((l) => l[1]);
  const configs = () => readdirSync(join(s.stateDir, 'domains')).sort();

  const [keep] = await c.manager('CreateDomain', 'sa{sv}', ['keep', {}]);
  const keepId = (await c.prop(keep, DOMAIN_IFACE, 'DomainId')) as number;
  t.same(configs(), ['keep.cfg']);
  const before = await rangeRoutes(s);
  if (s.netns) t.same(before.map((r) => r.dst), ['172.20.216.2']);

  const nothingLeft = async (name: string) => {
    t.same(await leases(), ['keep'], `${name}: no lease left`);
    t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), 1, `${name}: LeasesInUse unchanged`);
    t.same(configs(), ['keep.cfg'], `${name}: no config file left`);
    t.same(await rangeRoutes(s), before, `${name}: no route left`);
    t.notOk(c.seen.some((x) => x.member === 'DomainNew' && x.body[0] === name), `${name}: no DomainNew`);
    t.equal(await errorOf(c.manager('GetDomain', 's', [name])), `${P}NoSuchDomain`, `${name}: not known`);
    const simList = (await s.sim(['list'])).stdout;
    t.notOk(new RegExp(`^${name} `, 'm').test(simList), `${name}: no guest left in the toolstack`);
  };

  // 1. create fails: ToolstackFailed with the exit status and the first error line.
  await sim('fault', 'create', '--fail', '1', '--status', '3', '--text', 'Error: simulated out of memory\nsecond line');
  const failed = await failure(c.manager('CreateDomain', 'sa{sv}', ['fail1', {}]));
  t.equal(failed.errorName, `${P}ToolstackFailed`);
  t.match(failed.message, /exit status 3/);
  t.match(failed.message, /Error: simulated out of memory/);
  t.notMatch(failed.message, /second line/, 'only the first line');
  await nothingLeft('fail1');
  // The address came back: it can be leased again (the allocator is next-fit, so ask for it).
  const [again] = await c.manager('CreateDomain', 'sa{sv}', ['again', { address: variant('s', '172.20.216.3') }]);
  t.equal(await c.prop(again, DOMAIN_IFACE, 'Address'), '172.20.216.3', 'the failed create\'s address is free again');
  await c.manager('DestroyDomain', 's', ['again']);

  // 2. create hangs past Timeout: Timeout, rollback, and reads are answered meanwhile.
  await sim('fault', 'create', '--hang', '--times', '1');
  const t0 = Date.now();
  let replied = 0;
  const hung = failure(c.manager('CreateDomain', 'sa{sv}', ['hang1', {}])).finally(() => (replied = Date.now()));
  await new Promise((r) => setTimeout(r, 500)); // the create is now waiting for xl
  const took: number[] = [];
  for (let i = 0; i < 10; i++) {
    const a = Date.now();
    await Promise.all([c.manager('ListDomains'), c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), c.prop(keep, DOMAIN_IFACE, 'State')]);
    took.push(Date.now() - a);
  }
  const readsDone = Date.now();
  took.sort((a, b) => a - b);
  t.ok(took[5]! < 100, `reads answered while create hangs: median ${took[5]} ms (all: ${took.join(',')})`);
  const timedOut = await hung;
  t.ok(readsDone < replied, 'the reads were answered before the hung create');
  t.equal(timedOut.errorName, `${P}Timeout`);
  t.match(timedOut.message, /did not finish within 3000 ms/);
  t.ok(Date.now() - t0 >= 2_900, 'the hung create ran until the timeout');
  await nothingLeft('hang1');

  // 3. garbage from list: the reconcile loop logs and keeps every state.
  await sim('fault', 'list', '--garbage', '--seed', '7');
  const log = () => readFileSync(s.logPath, 'utf8');
  await eventually(() => /reconcile failed/.test(log()), 10_000, 'a failed reconcile in the log');
  await new Promise((r) => setTimeout(r, 1_500)); // another round or two
  t.match(await c.prop(keep, DOMAIN_IFACE, 'State'), /^(running|blocked)$/, 'state kept through garbage');
  t.equal(await c.prop(keep, DOMAIN_IFACE, 'DomainId'), keepId, 'domain id kept');
  t.same(await rangeRoutes(s), before, 'route kept');
  t.equal((await c.manager('ListDomains'))[0].length, 1, 'reads still answer');
  const line = log()
    .split('\n')
    .find((l) => l.includes('reconcile failed'));
  t.match(JSON.parse(line!), { level: 40, err: { message: /cannot read .*list.* output/ } }, 'the log line says what was wrong');
  await sim('fault', 'list', '--clear');

  // 4. shutdown --wait outlasting its timeout option: Timeout; the guest stops later anyway.
  await sim('set', 'shutdown-delay', '4000');
  const mark = c.seen.length;
  const a = Date.now();
  const slow = await failure(c.manager('ShutdownDomain', 'sa{sv}', ['keep', { wait: variant('b', true), timeout: variant('u', 1) }]));
  t.equal(slow.errorName, `${P}Timeout`);
  t.ok(Date.now() - a < 2_900, `bounded by the timeout option, not Toolstack Timeout (${Date.now() - a} ms)`);
  // The reconcile loop notices once the guest has gone.
  await c.waitFor((x) => x.member === 'PropertiesChanged' && x.path === keep && (x.body[1] as Record<string, { value: unknown }>).State?.value === 'stopped', 15_000, mark);
  t.equal(await c.prop(keep, DOMAIN_IFACE, 'Vif'), '');
  t.same(await rangeRoutes(s), [], 'its route removed');
  t.same(await leases(), ['keep'], 'the lease kept');
  await sim('set', 'shutdown-delay', '300');

  // 5. destroy of a domain already gone behind domud's back: success.
  await c.manager('StartDomain', 's', ['keep']);
  await sim('vanish', 'keep');
  await c.manager('DestroyDomain', 's', ['keep']);
  t.same(await leases(), [], 'lease released');
  t.same(configs(), [], 'config removed');
  await eventually(async () => (await rangeRoutes(s)).length === 0, 5_000, 'no route');

  // 6. the toolstack fails on destroy: the domain stays known, so it can be retried.
  await c.manager('CreateDomain', 'sa{sv}', ['stuck', {}]);
  await sim('fault', 'destroy', '--fail', '1', '--status', '1', '--text', 'Error: simulated destroy failure');
  const df = await failure(c.manager('DestroyDomain', 's', ['stuck']));
  t.equal(df.errorName, `${P}ToolstackFailed`);
  t.same(await leases(), ['stuck'], 'still leased after a failed destroy');
  t.match(await c.prop(MANAGER + '/domain/stuck', DOMAIN_IFACE, 'State'), /^(running|blocked)$/);
  await c.manager('DestroyDomain', 's', ['stuck']);
  t.same(await leases(), []);
});

t.test('no toolstack at all: the daemon starts, reads work, lifecycle calls fail', async (t) => {
  const s = await startSandbox(t, { config: { Toolstack: { Command: '/nonexistent/xl' } } });
  const c = await Client.connect(t, s.address);
  t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'Network'), '172.20.216.0/24', 'properties answer');
  t.same(await c.manager('ListDomains'), [[]]);
  const e = await failure(c.manager('CreateDomain', 'sa{sv}', ['vm', {}]));
  t.equal(e.errorName, `${P}ToolstackFailed`);
  t.match(e.message, /\/nonexistent\/xl/, 'the message names the command');
  t.same(await c.manager('ListLeases'), [[]], 'nothing leased');
  t.notOk(existsSync(join(s.stateDir, 'domains', 'vm.cfg')), 'no config left');
  t.match(readFileSync(s.logPath, 'utf8'), /no toolstack; lifecycle calls will fail/);
  // Still responsive afterwards.
  t.same(await c.call(MANAGER, PROPS, 'Get', 'ss', [MANAGER_IFACE, 'LeasesInUse']).then((r) => r[0].value), 0);
});

t.test('a vif that never appears: NetworkFailed, and the create is undone for good', { skip: process.getuid?.() !== 0 && 'needs root for a network namespace' }, async (t) => {
  const s = await startSandbox(t, {});
  const c = await Client.connect(t, s.address);
  await c.subscribeAll();
  const leases = async () => ((await c.manager('ListLeases'))[0] as unknown[][]).map((l) => l[1]);
  t.equal((await s.sim(['fault', 'create', '--no-vif', '--times', '1'])).code, 0);
  const f = await failure(c.manager('CreateDomain', 'sa{sv}', ['novif', {}]));
  t.equal(f.errorName, `${P}NetworkFailed`);
  t.match(f.message, /vif\d+\.0/, 'the message names the vif');
  t.same(await leases(), [], 'no lease left');
  t.equal(await c.prop(MANAGER, MANAGER_IFACE, 'LeasesInUse'), 0);
  t.same(readdirSync(join(s.stateDir, 'domains')), [], 'no config left');
  t.notMatch((await s.sim(['list'])).stdout, /^novif\s/m, 'no guest left');
  t.same(await rangeRoutes(s), [], 'no route left');
  t.notOk(c.seen.some((x) => x.member === 'DomainNew' || x.member === 'LeaseAcquired'), 'nothing announced');
  // Its lease was marked ready once the guest existed: the rollback took it back, for good.
  t.equal(await s.stopDaemon(), 0);
  await s.startDaemon();
  t.equal(await errorOf(c.manager('GetDomain', 's', ['novif'])), `${P}NoSuchDomain`, 'not back after a restart');
  t.same(await leases(), []);
  const [ok] = await c.manager('CreateDomain', 'sa{sv}', ['ok', { address: variant('s', '172.20.216.2') }]);
  t.equal(await c.prop(ok, DOMAIN_IFACE, 'Address'), '172.20.216.2', 'its address is free again');
});

