// Crash consistency: random create/start/shutdown/destroy calls from several
// clients at once while the daemon is SIGKILLed at random moments (as
// `systemctl kill -s KILL` does with KillMode=process: toolstack calls in
// flight live on). After every restart, and at the end, the whole state must
// be consistent and every call that was answered with success must show.
// DOMUD_CRASH_SEED replays a run (its runs take that seed and the next);
// DOMUD_CRASH_OPS and DOMUD_CRASH_KILLS scale it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Client, E, type Observed, errorName, rng, sandbox, settle, sleep, v } from './support.js';

const SEED = Number(process.env.DOMUD_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const OPS = Number(process.env.DOMUD_CRASH_OPS ?? 200);
const KILLS = Number(process.env.DOMUD_CRASH_KILLS ?? 20);
const WORKERS = 4;

// 200 operations and 20 restarts take a few minutes on a 2-core machine:
// give the file room beyond tap's 300 s default here.
t.setTimeout(600_000);
const NAMES = Array.from({ length: 10 }, (_, i) => `g${i}`);

/** What the driver knows of a domain; null: unknown (a call was cut off by a kill). */
interface Known {
  exists: boolean | null;
  running: boolean | null;
}

/** Answers that mean "the daemon died under this call" rather than a reply of domud's. */
const CUT_OFF = new Set(['org.freedesktop.DBus.Error.NoReply', 'org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner']);

// Two runs side by side, each with half the calls and kills and a daemon of
// its own: a round mostly waits (see below), so two take little longer
// than one.
const RUNS = 2;
t.test(`crash consistency (seeds ${SEED}..${SEED + RUNS - 1})`, async (t) => {
  await Promise.all(Array.from({ length: RUNS }, (_, i) => crashRun(t, SEED + i, Math.ceil(OPS / RUNS), Math.ceil(KILLS / RUNS))));
});

async function crashRun(t: Test, seed: number, ops: number, kills: number): Promise<void> {
  // After each restart, a create that a kill cut off is decided only once
  // it can no longer be running (the toolstack's timeout and 5 s): most of
  // each round's time. The calls here take well under a second.
  const s = await sandbox(t, { flavour: 'xl', config: { Toolstack: { Timeout: '3' } } });
  // Slow the toolstack down a little so that kills land inside its calls.
  for (const [sub, ms] of [['create', 150], ['destroy', 60], ['shutdown', 60]] as const) {
    t.equal((await s.sim(['fault', sub, '--delay', String(ms)])).code, 0);
  }
  t.equal((await s.sim(['set', 'shutdown-delay', '150'])).code, 0);
  const c = await Client.open(s.address);
  t.teardown(() => c.close());

  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const model = new Map<string, Known>(NAMES.map((n) => [n, { exists: false, running: false }]));
  const counts = { tried: 0, ok: 0, kills: 0, midCall: 0, checks: 0, leasesChecked: 0, routesChecked: 0 };
  const errors = new Map<string, number>();
  const surprises: string[] = [];
  const surprise = (what: string) => surprises.push(what);

  /** One call; updates the model from its answer. */
  const op = async (name: string): Promise<void> => {
    const k = model.get(name)!;
    // Mostly a verb that fits what is known (so that most calls do work),
    // sometimes any verb (so that the refusals are exercised too).
    const fits: Array<'create' | 'start' | 'shutdown' | 'destroy'> =
      k.exists === false ? ['create'] : k.running === true ? ['shutdown', 'shutdown', 'destroy'] : k.running === false ? ['start', 'destroy'] : ['start', 'shutdown', 'destroy'];
    const verb = rand() < 0.8 ? pick(fits) : pick(['create', 'start', 'shutdown', 'destroy'] as const);
    const wait = rand() < 0.7;
    counts.tried++;
    let err: string | null = null;
    try {
      if (verb === 'create') await c.call('CreateDomain', 'sa{sv}', name, {});
      else if (verb === 'start') await c.call('StartDomain', 's', name);
      else if (verb === 'shutdown') await c.call('ShutdownDomain', 'sa{sv}', name, wait ? { wait: v('b', true) } : {});
      else await c.call('DestroyDomain', 's', name);
    } catch (e) {
      err = errorName(e);
    }
    const label = `${verb}${verb === 'shutdown' ? (wait ? '(wait)' : '(nowait)') : ''} ${name}`;
    if (err === null) {
      counts.ok++;
      if (verb === 'create') {
        if (k.exists === true) surprise(`${label} succeeded for a known domain`);
        Object.assign(k, { exists: true, running: true });
      } else if (verb === 'start') {
        if (k.exists === false || k.running === true) surprise(`${label} succeeded but the domain was ${JSON.stringify(k)}`);
        Object.assign(k, { exists: true, running: true });
      } else if (verb === 'shutdown') {
        if (k.exists === false || k.running === false) surprise(`${label} succeeded but the domain was ${JSON.stringify(k)}`);
        Object.assign(k, { exists: true, running: wait ? false : null });
      } else {
        if (k.exists === false) surprise(`${label} succeeded for an unknown domain`);
        Object.assign(k, { exists: false, running: false });
      }
      return;
    }
    errors.set(err, (errors.get(err) ?? 0) + 1);
    if (CUT_OFF.has(err)) {
      Object.assign(k, { exists: null, running: null });
      return;
    }
    const expect = (cond: boolean) => {
      if (!cond) surprise(`${label} answered ${err} but the domain was ${JSON.stringify(k)}`);
    };
    if (err === `${E}DomainExists`) {
      expect(k.exists !== false);
      k.exists = true;
    } else if (err === `${E}NoSuchDomain`) {
      expect(k.exists !== true);
      Object.assign(k, { exists: false, running: false });
    } else if (err === `${E}AlreadyRunning`) {
      expect(k.exists !== false && k.running !== false);
      // Running at that moment; but after a shutdown that was not waited
      // for (running unknown), it may still stop on its own.
      Object.assign(k, { exists: true, running: k.running === null ? null : true });
    } else if (err === `${E}NotRunning`) {
      // A shutdown that was not waited for may end between domud's look and xl's.
      expect(k.exists !== false && k.running !== true);
      Object.assign(k, { exists: true, running: false });
    } else {
      surprise(`${label} answered ${err}`);
      Object.assign(k, { exists: null, running: null });
    }
  };

  /** After a restart: every fact the answers established must hold; then learn the rest. */
  const compare = (o: Observed) => {
    const running = new Set(o.sim.map((g) => g.name));
    for (const [name, k] of model) {
      const exists = o.domains.some((d) => d.name === name);
      if (k.exists !== null && k.exists !== exists) surprise(`after restart ${name} ${exists ? 'exists' : 'is gone'}, but the answers said otherwise`);
      if (k.running !== null && exists && k.running !== running.has(name)) surprise(`after restart ${name} is ${running.has(name) ? 'running' : 'stopped'}, but the answers said otherwise`);
      Object.assign(k, { exists, running: running.has(name) });
    }
  };

  const check = async (when: string) => {
    const { o, bad } = await settle(s, c, 20_000);
    t.same(bad, [], `invariants hold ${when} (seed ${seed})`);
    compare(o);
    counts.checks++;
    counts.leasesChecked += o.db.length;
    counts.routesChecked += o.sim.length;
  };

  const started = Date.now();
  let round = 0;
  while (counts.tried < ops || counts.kills < kills) {
    round++;
    // The round ends with a SIGKILL after killAfter calls have been sent.
    const killAfter = 2 + Math.floor(rand() * 13);
    let sent = 0;
    let killing: Promise<void> | null = null;
    const busy = new Set<string>();
    let inFlight = 0;
    const worker = async () => {
      while (killing === null) {
        const free = NAMES.filter((n) => !busy.has(n));
        const name = pick(free);
        busy.add(name);
        sent++;
        if (sent === killAfter) {
          const delay = Math.floor(rand() * 250);
          killing = (async () => {
            await sleep(delay);
            if (inFlight > 0) counts.midCall++;
            await s.stopDaemon('SIGKILL');
            counts.kills++;
          })();
        }
        inFlight++;
        await op(name);
        inFlight--;
        busy.delete(name);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    await killing;
    await s.startDaemon();
    await check(`after kill ${counts.kills} (round ${round})`);
  }
  await check('at the end');

  t.same(surprises, [], 'every answered call is reflected, every error fits what was known');
  t.ok(counts.tried >= ops, `${counts.tried} calls tried`);
  t.ok(counts.ok > 0, 'some calls succeeded');
  t.ok(counts.kills >= kills, `${counts.kills} kills survived`);
  t.ok(counts.midCall > 0, 'some kills landed with calls in flight');
  t.ok(counts.leasesChecked > 0, 'leases were checked');
  t.ok(counts.routesChecked > 0, 'routes of running guests were checked');
  const errs = [...errors].sort().map(([n, x]) => `${n.replace(/^.*\./, '')}=${x}`).join(' ');
  t.comment(
    `crash: seed ${seed}, ${counts.tried} ops tried, ${counts.ok} answered ok, errors: ${errs || 'none'}; ` +
      `${counts.kills} kills survived (${counts.midCall} mid-call), ${counts.checks} checks, ` +
      `${counts.leasesChecked} leases and ${counts.routesChecked} guest routes checked, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

// With KillMode=process a toolstack call in flight outlives the daemon. A
// create that is still running when the new daemon loads its state must not
// be rolled back behind its back: that would leave a guest running with an
// address that domud hands out again.
t.test('a create that outlives the daemon restart', async (t) => {
  const s = await sandbox(t, { flavour: 'xl' }, false);
  // Like the real xl, this create reads its config first and then takes its
  // time building the guest (the simulator's own delay comes before it
  // reads); its output goes elsewhere, so the dead daemon's pipes do not end it.
  const once = join(s.dir, 'slow-once');
  const held = join(s.dir, 'held.cfg');
  writeFileSync(once, '');
  const wrapper = readFileSync(s.toolPath, 'utf8').replace(
    /^exec /m,
    `if [ "$1" = create ] && [ -e '${once}' ]; then exec >>'${s.dir}/w.err' 2>&1; rm -f '${once}'; cp "$2" '${held}'; sleep 6; set -- create '${held}'; fi\nexec `,
  );
  writeFileSync(s.toolPath, wrapper);
  await s.startDaemon();
  const c = await Client.open(s.address);
  t.teardown(() => c.close());
  const call = c.call('CreateDomain', 'sa{sv}', 'slow', {}).then(
    () => 'ok',
    (e) => errorName(e),
  );
  await sleep(700);
  const killed = Date.now();
  await s.stopDaemon('SIGKILL');
  t.equal(await call, 'org.freedesktop.DBus.Error.NoReply', 'the call was cut off');
  await s.startDaemon();
  t.ok(Date.now() - killed < 5000, 'the new daemon loaded its state while the orphaned create still ran');
  // Let the orphaned `xl create` finish, then a reconcile round or two.
  await sleep(6500);
  const { o, bad } = await settle(s, c, 8_000);
  t.same(bad, [], 'the guest is adopted or gone, never running unknown');
  // Whatever happened, the slow guest's address must not be handed out again
  // while that guest runs.
  const address = /ip=([0-9.]+)/.exec(readFileSync(held, 'utf8'))![1]!;
  const again = await c.call('CreateDomain', 'sa{sv}', 'next', { address: v('s', address) }).then(
    () => 'ok',
    (e) => errorName(e),
  );
  if (o.sim.some((g) => g.name === 'slow')) t.equal(again, `${E}AddressUnavailable`, `${address} is not leased twice`);
  else t.equal(again, 'ok', `${address} is free again once the slow guest is gone`);
  const after = await settle(s, c, 8_000);
  t.same(after.bad, [], 'still consistent with another domain');
});
