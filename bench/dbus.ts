// domud on D-Bus against a bare dbus-next service on the same private bus,
// in one run: reads (a property, GetDomain, ListDomains with 1,000 domains,
// 64 calls in flight), start-up to name owned with 10,000 leases, idle RSS,
// and CreateDomain's overhead beyond the simulator's own time, as seen through
// a bare service that runs it (bench/lib/sim-service.ts). The bare service is
// bench/lib/bare.ts (dbus-next's Interface class, as a plain service would be
// written). Leases are seeded straight into the lease
// database (stopped domains), so seeding takes seconds, not a thousand
// simulator runs. Prints JSON lines, then one line per target.
import Database from 'better-sqlite3';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dbus from 'dbus-next';
import { Allocator, Pool } from '../src/ipam/index.js';
import { PACKAGE_ROOT, Sandbox } from '../src/dev/sandbox.js';
import { servicePolicy } from '../src/dev/bus-config.js';
import { BARE_IFACE, BARE_NAME, BARE_PATH, BARE_ROWS as ROWS } from './lib/bare.js';
import { SIM_IFACE, SIM_NAME, SIM_PATH } from './lib/sim-service.js';

const NAME = 'org.domud.Domud1';
const MANAGER = '/org/domud/Domud1';
const MANAGER_IFACE = 'org.domud.Domud1.Manager';
const PROPS = 'org.freedesktop.DBus.Properties';
const RANGE = '10.64.0.0/16';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 400);
const SELF = fileURLToPath(import.meta.url);
/** The bare service: a file of its own, so that it loads dbus-next and nothing else. */
const BARE = join(dirname(SELF), 'lib', 'bare.js');
/** The bare service that runs the simulator, CreateDomain's yardstick. */
const SIM_SERVICE = join(dirname(SELF), 'lib', 'sim-service.js');
/** Which parts to run (BENCH_PARTS=startup,reads,create; default all), to look at one quickly. */
const PARTS = new Set((process.env.BENCH_PARTS ?? 'startup,reads,create').split(','));
/** Start-up runs of each service (BENCH_STARTS). */
const STARTS = Number(process.env.BENCH_STARTS ?? 25);
/** When a started service counts as idle for its RSS. */
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 12_000);


// ---- measuring ----

type Call = () => Promise<unknown>;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Latencies of a and b, interleaved in small batches so the machine's mood favours neither. */
async function latencies(a: Call, b: Call, rounds = ROUNDS): Promise<[number[], number[]]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < 20; i++) await Promise.all([a(), b()]); // warm-up
  for (let i = 0; i < rounds; i += 10) {
    for (const [f, out] of i % 20 === 0 ? ([[a, ta], [b, tb]] as const) : ([[b, tb], [a, ta]] as const)) {
      for (let k = 0; k < 10; k++) {
        const t = process.hrtime.bigint();
        await f();
        out.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }
  }
  return [ta, tb];
}

/** Calls per second with `depth` calls in flight. */
async function throughput(f: Call, depth: number, total: number): Promise<number> {
  let started = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (started < total) {
        started++;
        await f();
      }
    }),
  );
  return total / (Number(process.hrtime.bigint() - t) / 1e9);
}

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const results: Array<{ what: string; value: number; target: string; ok: boolean }> = [];
function target(what: string, value: number, le: number | null, ge: number | null, unit = '×'): void {
  const ok = (le === null || value <= le) && (ge === null || value >= ge);
  results.push({ what, value: round(value, 2), target: le !== null ? `≤ ${le}${unit}` : `≥ ${ge}${unit}`, ok });
}

// ---- the run ----

async function main(): Promise<void> {
  const policyDir = join(PACKAGE_ROOT, 'dist', 'bench');
  const policy = join(policyDir, 'bench-policy.conf');
  writeFileSync(policy, servicePolicy(BARE_NAME));
  const simPolicy = join(policyDir, 'bench-sim-policy.conf');
  writeFileSync(simPolicy, servicePolicy(SIM_NAME));
  // Reconcile rarely, log as in production: the figures are about the bus path.
  const config = { Network: { Range: RANGE }, Daemon: { ReconcileSeconds: '3600', LogLevel: 'info' } };
  const s = await Sandbox.create({ config, policies: [policy, simPolicy] });
  const big = await Sandbox.create({ config, policies: [policy] });
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await s.destroy();
    await big.destroy();
  };
  try {
    await run(s, big, children);
  } finally {
    await cleanup();
  }
}

function seed(stateDir: string, n: number, kernel: string): void {
  mkdirSync(join(stateDir, 'domains'), { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'leases.db');
  Allocator.open(path, Pool.parse(RANGE)).close();
  const db = new Database(path);
  const attrs = JSON.stringify({ v: 1, phase: 'ready', settings: { memory: 64, vcpus: 1, kernel, ramdisk: '', extra: '', root: '', disks: [] } });
  const ins = db.prepare('INSERT INTO leases (ip, name, mac, acquired_at, attrs) VALUES (?, ?, ?, ?, ?)');
  const base = (10 << 24) | (64 << 16);
  const now = Date.now() * 1000;
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const ip = base + 2 + i;
      ins.run(ip, `vm${i}`, `00:16:3e:${((i >> 16) & 0x7f).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`, now, attrs);
    }
  })();
  db.close();
}

/**
 * Spawns a service in the sandbox's namespace and resolves when it owns
 * `name`: ms, and the process. Its stdout goes to `logFile` if given (a file,
 * not a pipe, so that no log line wakes this process during a measurement).
 */
async function startTimed(s: Sandbox, watcher: dbus.MessageBus, name: string, argv: string[], children: ChildProcess[], logFile?: string): Promise<[number, ChildProcess]> {
  const owned = new Promise<void>((resolve) => {
    const on = (m: dbus.Message) => {
      if (m.member === 'NameOwnerChanged' && m.body[0] === name && m.body[2] !== '') {
        watcher.removeListener('message', on);
        resolve();
      }
    };
    watcher.on('message', on);
  });
  const t = process.hrtime.bigint();
  const full = s.netns ? ['ip', 'netns', 'exec', s.netns, ...argv] : argv;
  const out = logFile === undefined ? 'ignore' : openSync(logFile, 'a');
  const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', out, 'ignore'] });
  if (typeof out === 'number') closeSync(out);
  children.push(child);
  await owned;
  return [Number(process.hrtime.bigint() - t) / 1e6, child];
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

/** The program measured: the bundle that ships, or (BENCH_DAEMON, relative to the package) another build of it, e.g. dist/src/daemon/main.js unbundled. */
const DAEMON = join(PACKAGE_ROOT, process.env.BENCH_DAEMON ?? join('dist', 'domud.cjs'));
const daemonArgv = (sb: Sandbox) => [process.execPath, DAEMON, '--config', sb.configPath, '--bus', sb.address];
const bareArgv = (sb: Sandbox) => [process.execPath, BARE, sb.address];

/** Start-up to name owned with 10,000 leases, and idle RSS, daemon and bare alternating. */
async function startup(big: Sandbox, children: ChildProcess[]): Promise<void> {
  const watcher = dbus.sessionBus({ busAddress: big.address });
  await watcher.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',member='NameOwnerChanged'"] }));
  const up = { daemon: [] as number[], bare: [] as number[] };
  const early = { daemon: [] as number[], bare: [] as number[] };
  const rss = { daemon: [] as number[], bare: [] as number[] };
  const kinds = (i: number) => (i % 2 === 0 ? (['daemon', 'bare'] as const) : (['bare', 'daemon'] as const));
  const start = (kind: 'daemon' | 'bare') => startTimed(big, watcher, kind === 'daemon' ? NAME : BARE_NAME, kind === 'daemon' ? daemonArgv(big) : bareArgv(big), children);
  // Start-up times vary a lot from one run to the next on a shared machine:
  // many short runs, alternating, for the median.
  for (let i = 0; i < STARTS; i++) {
    for (const kind of kinds(i)) {
      const [ms, child] = await start(kind);
      up[kind].push(ms);
      await stop(child);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // Right after start-up the heap still holds what loading left behind;
  // idle is once V8's memory reducer has run (8 s after the last activity),
  // the state a running service spends its time in.
  for (let i = 0; i < 3; i++) {
    for (const kind of kinds(i)) {
      const [, child] = await start(kind);
      await new Promise((r) => setTimeout(r, 1_500));
      early[kind].push(rssKiB(child.pid!));
      await new Promise((r) => setTimeout(r, IDLE_MS - 1_500));
      rss[kind].push(rssKiB(child.pid!));
      await stop(child);
    }
  }
  watcher.disconnect();
  // The target is on the medians; the minimums, less at the machine's
  // mercy, are printed beside them.
  emit({ bench: 'dbus.startup', leases: 10_000, unit: 'ms', domud: { p50: round(pct(up.daemon, 50)), min: round(Math.min(...up.daemon)) }, bare: { p50: round(pct(up.bare, 50)), min: round(Math.min(...up.bare)) }, ratioOfMins: round(Math.min(...up.daemon) / Math.min(...up.bare), 2), runs: STARTS });
  emit({ bench: 'dbus.rss-after-start', leases: 10_000, unit: 'KiB', after: '1.5 s', domud: pct(early.daemon, 50), bare: pct(early.bare, 50), runs: 3 });
  emit({ bench: 'dbus.idle-rss', leases: 10_000, unit: 'KiB', after: `${IDLE_MS / 1000} s`, domud: pct(rss.daemon, 50), bare: pct(rss.bare, 50), runs: 3 });
  target('start-up to name owned, 10,000 leases (domud/bare)', pct(up.daemon, 50) / pct(up.bare, 50), 1.3, null);
  target('idle RSS, 10,000 leases (domud/bare)', pct(rss.daemon, 50) / pct(rss.bare, 50), 1.3, null);
}

async function run(s: Sandbox, big: Sandbox, children: ChildProcess[]): Promise<void> {
  const kernel = join(s.dir, 'vmlinuz-guest');
  seed(s.stateDir, ROWS, kernel);
  seed(big.stateDir, 10_000, join(big.dir, 'vmlinuz-guest'));
  if (PARTS.has('startup')) await startup(big, children);

  // ---- reads against 1,000 domains ----
  const bus = dbus.sessionBus({ busAddress: s.address });
  const watch2 = dbus.sessionBus({ busAddress: s.address });
  await watch2.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',member='NameOwnerChanged'"] }));
  const daemonLog = join(s.dir, 'daemon.log');
  const [, daemon] = await startTimed(s, watch2, NAME, daemonArgv(s), children, daemonLog);
  const [, bareChild] = await startTimed(s, watch2, BARE_NAME, bareArgv(s), children);
  watch2.disconnect();
  const call = (destination: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []) => {
    const m = () => new dbus.Message({ destination, path, interface: iface, member, signature, body });
    return () => bus.call(m());
  };
  const dGet = call(NAME, MANAGER, PROPS, 'Get', 'ss', [MANAGER_IFACE, 'Version']);
  const bGet = call(BARE_NAME, BARE_PATH, PROPS, 'Get', 'ss', [BARE_IFACE, 'Version']);
  const dGetDomain = call(NAME, MANAGER, MANAGER_IFACE, 'GetDomain', 's', ['vm500']);
  const bEcho = call(BARE_NAME, BARE_PATH, BARE_IFACE, 'Echo', 's', ['vm500']);
  const dList = call(NAME, MANAGER, MANAGER_IFACE, 'ListDomains');
  const bRows = call(BARE_NAME, BARE_PATH, BARE_IFACE, 'Rows');
  const [listed] = (await dList())!.body as [unknown[]];
  if (listed.length !== ROWS) throw new Error(`ListDomains gave ${listed.length} rows, not ${ROWS}`);
  if (PARTS.has('reads')) await reads();
  if (PARTS.has('create')) await create();
  bus.disconnect();
  await stop(daemon);
  await stop(bareChild);
  for (const r of results) emit({ target: r.what, value: r.value, want: r.target, met: r.ok });

  async function reads(): Promise<void> {
    const report = (name: string, d: number[], b: number[], extra: Record<string, unknown> = {}) => {
      emit({ bench: `dbus.${name}`, unit: 'ms', ...extra, domud: { p50: round(pct(d, 50), 3), p99: round(pct(d, 99), 3), callsPerS: round(1000 / (d.reduce((x, y) => x + y, 0) / d.length), 0) }, bare: { p50: round(pct(b, 50), 3), p99: round(pct(b, 99), 3), callsPerS: round(1000 / (b.reduce((x, y) => x + y, 0) / b.length), 0) } });
      return pct(d, 50) / pct(b, 50);
    };
    const [g1, g2] = await latencies(dGet, bGet);
    target('property Get p50 (domud/bare)', report('get-property', g1, g2), 1.2, null);
    const [d1, d2] = await latencies(dGetDomain, bEcho);
    target('GetDomain p50 (domud/bare trivial method)', report('get-domain', d1, d2), 1.2, null);
    const [l1, l2] = await latencies(dList, bRows, Math.max(40, ROUNDS / 4));
    target('ListDomains(1,000) p50 (domud/bare a(sisso) of 1,000)', report('list-domains', l1, l2, { rows: ROWS }), 1.2, null);

    const total = ROUNDS * 10;
    const tp = { daemon: [] as number[], bare: [] as number[] };
    for (let i = 0; i < 3; i++) {
      tp.daemon.push(await throughput(dGetDomain, 64, total));
      tp.bare.push(await throughput(bEcho, 64, total));
    }
    emit({ bench: 'dbus.in-flight-64', unit: 'calls/s', call: 'GetDomain vs Echo', domud: round(pct(tp.daemon, 50), 0), bare: round(pct(tp.bare, 50), 0) });
    target('64 in flight, calls/s (domud/bare)', pct(tp.daemon, 50) / pct(tp.bare, 50), null, 0.8);
    emit({ bench: 'dbus.idle-rss-after-reads', rows: ROWS, unit: 'KiB', domud: rssKiB(daemon.pid!), bare: rssKiB(bareChild.pid!) });
  }

  // ---- CreateDomain beyond a bare service that runs the simulator ----
  async function create(): Promise<void> {
    const watch = dbus.sessionBus({ busAddress: s.address });
    await watch.call(new dbus.Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'AddMatch', signature: 's', body: ["type='signal',member='NameOwnerChanged'"] }));
    const [, simChild] = await startTimed(s, watch, SIM_NAME, [process.execPath, SIM_SERVICE, s.address, s.toolPath], children);
    watch.disconnect();
    const cfgDir = join(s.dir, 'direct');
    mkdirSync(cfgDir);
    const N = Number(process.env.BENCH_CREATES ?? 100);
    const timed = async (m: dbus.Message): Promise<[number, dbus.Message]> => {
      const t = process.hrtime.bigint();
      const reply = await bus.call(m);
      return [Number(process.hrtime.bigint() - t) / 1e6, reply!];
    };
    const viaDomud = async (i: number) => (await timed(new dbus.Message({ destination: NAME, path: MANAGER, interface: MANAGER_IFACE, member: 'CreateDomain', signature: 'sa{sv}', body: [`c${i}`, {}] })))[0];
    const viaBare = async (cfg: string, i: number) => {
      const [ms, reply] = await timed(new dbus.Message({ destination: SIM_NAME, path: SIM_PATH, interface: SIM_IFACE, member: 'Create', signature: 'ss', body: [cfg, `d${i}`] }));
      return [ms, reply.body[0] as number] as const;
    };
    const domud: number[] = [];
    const bare: number[] = [];
    const alone: number[] = [];
    for (let i = 0; i < N; i++) {
      // A config like domud's, for the same two simulator runs as domud makes.
      const cfg = join(cfgDir, `d${i}.cfg`);
      writeFileSync(cfg, `name = "d${i}"\nkernel = "${kernel}"\nmemory = 64\nvcpus = 1\nvif = [ "ip=10.64.200.${i + 2},mac=00:16:3e:70:00:${(i + 2).toString(16).padStart(2, '0')},script=vif-route" ]\n`);
      // In turn first, so that neither side always meets the simulator's state as the other left it.
      const order = i % 2 === 0 ? ['bare', 'domud'] : ['domud', 'bare'];
      for (const side of order) {
        if (side === 'domud') {
          domud.push(await viaDomud(i));
        } else {
          const [ms, sim] = await viaBare(cfg, i);
          bare.push(ms);
          alone.push(sim);
        }
      }
      await bus.call(new dbus.Message({ destination: SIM_NAME, path: SIM_PATH, interface: SIM_IFACE, member: 'Destroy', signature: 's', body: [`d${i}`] }));
      await bus.call(new dbus.Message({ destination: NAME, path: MANAGER, interface: MANAGER_IFACE, member: 'DestroyDomain', signature: 's', body: [`c${i}`] }));
    }
    await stop(simChild);
    // The simulator's own time inside each CreateDomain, as the daemon timed
    // its two runs (spawn to exit, as the bare service times them), from its
    // "domain created" log line.
    const inDomud = new Map<string, { ms: number; toolstackMs: number }>();
    for (const line of readFileSync(daemonLog, 'utf8').split('\n')) {
      if (!line.includes('"domain created"')) continue;
      const e = JSON.parse(line) as { domain: string; ms: number; toolstackMs: number };
      inDomud.set(e.domain, e);
    }
    const logged = domud.map((_, i) => {
      const v = inDomud.get(`c${i}`);
      if (v === undefined) throw new Error(`no "domain created" line for c${i} in ${daemonLog}`);
      return v;
    });
    const simInDomud = logged.map((e) => e.toolstackMs);
    const paired = (a: number[], b: number[]) => pct(a.map((v, i) => v - b[i]!), 50);
    const ms = (xs: number[]) => ({ p50: round(pct(xs, 50)), p99: round(pct(xs, 99)) });
    // Each simulator run (a Python start-up) varies by several ms, so a
    // difference of whole calls, even paired, moves by about a millisecond
    // from one run of 100 pairs to the next. Taking each call's own
    // simulator time out of it first leaves only the work around the
    // simulator: domud's, and the bare service's (which is a bus round trip
    // after a wait of some 40 ms, waking three idle processes).
    const domudOwn = domud.map((v, i) => v - simInDomud[i]!);
    const bareOwn = bare.map((v, i) => v - alone[i]!);
    const own = paired(domudOwn, bareOwn);
    emit({
      bench: 'dbus.create-overhead',
      unit: 'ms',
      runs: N,
      createDomain: ms(domud),
      bareServiceRunningTheSimulator: ms(bare),
      simulatorAlone: ms(alone),
      domudBeyondSimulator: { p50: round(pct(domudOwn, 50), 2), p90: round(pct(domudOwn, 90), 2) },
      bareBeyondSimulator: { p50: round(pct(bareOwn, 50), 2), p90: round(pct(bareOwn, 90), 2) },
      // The part of domudBeyondSimulator spent inside the model (from the call's turn to run to its route); the rest is the bus and the binding.
      domudModelBeyondSimulator: round(pct(logged.map((e) => e.ms - e.toolstackMs), 50), 2),
      domudBeyondBare: round(own, 2),
      // The earlier measure, whole calls paired: the same quantity, with the simulator's spread left in.
      wholeCallsPaired: round(paired(domud, bare), 2),
    });
    target("CreateDomain overhead beyond a bare service running the simulator, each call's simulator time taken out, median of paired differences", own, 1, null, ' ms');
  }
}

// Last, so that every constant above is initialised.
await main();
