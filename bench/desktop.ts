// The desktop window (desktop/), timed and weighed with and without 1,000
// guests: launch to the list drawn (its first look) and to every property
// drawn, resident memory once drawn, and how soon a guest that another
// client creates is painted after CreateDomain returns. The window runs on
// its own Xvfb screen under dbus-run-session as in its tests, with
// DOMUD_DESKTOP_TRACE=1, which makes it say on stderr when it has painted
// ("list drawn", "objects drawn", "shown: NAME"). Guests are made through the public API
// (CreateDomain), as a user would, so the daemon's internals stay its own.
// Prints JSON lines, then one line per target.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { PACKAGE_ROOT, Sandbox } from '../src/dev/sandbox.js';
import { type Screen, startScreen } from '../src/dev/xvfb.js';

const GUESTS = Number(process.env.BENCH_GUESTS ?? 1000);
const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 7);
const CREATES = Number(process.env.BENCH_CREATES ?? 30);
const MAIN = join(PACKAGE_ROOT, 'dist', 'desktop', 'main.js');
const NAME = 'org.domud.Domud1';
const MANAGER = '/org/domud/Domud1';
const MANAGER_IFACE = 'org.domud.Domud1.Manager';
const TICK = 100; // USER_HZ on Linux: /proc/PID/stat counts start time in these

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);

/** The gjs process in dbus-run-session's tree. */
function gjsPid(root: number): number | null {
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    try {
      // gjs itself, not dbus-run-session, whose arguments name it too.
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'gjs' && argv.includes(MAIN)) return p;
      for (const task of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) stack.push(Number(task));
    } catch {
      /* gone */
    }
  }
  return null;
}

interface Window {
  readonly child: ChildProcess;
  /** When each trace line came (performance.now()). */
  readonly arrived: ReadonlyMap<string, number>;
  /** Resolves with the next trace line that starts with `prefix`. */
  next(prefix: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

function openWindow(address: string, screen: Screen): Window {
  const child = spawn('dbus-run-session', ['--', 'gjs', '-m', MAIN, '--bus', address], {
    env: { ...process.env, GSK_RENDERER: 'cairo', GDK_BACKEND: 'x11', DISPLAY: screen.display, DOMUD_DESKTOP_TRACE: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const waiting: Array<{ prefix: string; resolve: (l: string) => void }> = [];
  const arrived = new Map<string, number>();
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/^domud-desktop: /, '');
      buf = buf.slice(i + 1);
      arrived.set(line, performance.now());
      const w = waiting.findIndex((x) => line.startsWith(x.prefix));
      if (w >= 0) waiting.splice(w, 1)[0]!.resolve(line);
    }
  });
  return {
    child,
    arrived,
    next: (prefix, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "${prefix}" from the window in ${timeoutMs} ms`)), timeoutMs);
        waiting.push({ prefix, resolve: (l) => (clearTimeout(t), resolve(l)) });
      }),
    close: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid!, 'SIGTERM');
      await done;
    },
  };
}

/**
 * Milliseconds from the gjs process's start to its list drawn (the first
 * look: names, states, addresses) and to every guest's properties drawn
 * (the objects fetched after it), and its RSS after that (2 s to settle).
 */
async function launch(address: string, guests: number, screen: Screen): Promise<{ ms: number; fullMs: number; rssMiB: number }> {
  const w = openWindow(address, screen);
  try {
    const objects = w.next('objects drawn');
    const line = await w.next('list drawn');
    const now = uptime();
    const listArrived = performance.now();
    if (!line.includes(`${guests} guests`)) throw new Error(`the window drew "${line}", not ${guests} guests`);
    const full = await objects;
    if (!full.includes(`${guests} guests`)) throw new Error(`the window drew "${full}", not ${guests} guests`);
    const fullAfter = w.arrived.get(full)! - listArrived;
    const pid = gjsPid(w.child.pid!);
    if (!pid) throw new Error('no gjs process under dbus-run-session');
    const started = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]) / TICK;
    await new Promise((r) => setTimeout(r, 2000));
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    return { ms: (now - started) * 1000, fullMs: (now - started) * 1000 + fullAfter, rssMiB: rss };
  } finally {
    await w.close();
  }
}

async function createMany(s: Sandbox, n: number): Promise<void> {
  const bus = dbus.sessionBus({ busAddress: s.address });
  try {
    const m = (await bus.getProxyObject(NAME, MANAGER)).getInterface(MANAGER_IFACE);
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        await m.CreateDomain(`g${String(i).padStart(4, '0')}`, {});
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    bus.disconnect();
  }
}

const results: Array<Record<string, unknown>> = [];
function target(what: string, value: number, le: number, unit = ''): void {
  results.push({ what, value: round(value, 2), target: `≤ ${le}${unit}`, ok: value <= le });
}

async function main(): Promise<void> {
  const config = { Network: { Range: '10.64.0.0/16' }, Daemon: { ReconcileSeconds: '3600', LogLevel: 'warn' } };
  const empty = await Sandbox.create({ config });
  const full = await Sandbox.create({ config });
  const screen = await startScreen();
  try {
    await empty.startDaemon();
    await full.startDaemon();
    const t0 = Date.now();
    await createMany(full, GUESTS);
    console.log(JSON.stringify({ bench: 'desktop', seeded: GUESTS, seconds: round((Date.now() - t0) / 1000) }));

    // Launches interleaved, so that the machine's load favours neither.
    const none: Array<{ ms: number; fullMs: number; rssMiB: number }> = [];
    const many: Array<{ ms: number; fullMs: number; rssMiB: number }> = [];
    await launch(empty.address, 0, screen); // warm the caches (fonts, typelibs)
    for (let i = 0; i < LAUNCHES; i++) {
      none.push(await launch(empty.address, 0, screen));
      many.push(await launch(full.address, GUESTS, screen));
    }
    const launchNone = median(none.map((x) => x.ms));
    const launchMany = median(many.map((x) => x.ms));
    const rssNone = median(none.map((x) => x.rssMiB));
    const rssMany = median(many.map((x) => x.rssMiB));
    console.log(JSON.stringify({ bench: 'desktop', what: 'launch to list drawn', guests: 0, p50_ms: round(launchNone), runs: none.map((x) => round(x.ms)) }));
    console.log(JSON.stringify({ bench: 'desktop', what: 'launch to list drawn', guests: GUESTS, p50_ms: round(launchMany), runs: many.map((x) => round(x.ms)) }));
    for (const [n, runs] of [[0, none], [GUESTS, many]] as const) {
      console.log(JSON.stringify({ bench: 'desktop', what: 'launch to every property drawn', guests: n, p50_ms: round(median(runs.map((x) => x.fullMs))), runs: runs.map((x) => round(x.fullMs)) }));
    }
    console.log(JSON.stringify({ bench: 'desktop', what: 'RSS once drawn', guests: 0, p50_mib: round(rssNone), guests_many: GUESTS, p50_mib_many: round(rssMany) }));
    target(`launch to list drawn, ${GUESTS} guests / none`, launchMany / launchNone, 1.3, '×');
    target(`RSS once drawn, ${GUESTS} guests / none`, rssMany / rssNone, 1.3, '×');

    // A guest created by another client, painted in the window: from
    // CreateDomain's return to the window's next painted frame with it.
    const w = openWindow(full.address, screen);
    try {
      await w.next('list drawn');
      const bus = dbus.sessionBus({ busAddress: full.address });
      const m = (await bus.getProxyObject(NAME, MANAGER)).getInterface(MANAGER_IFACE);
      const lags: number[] = [];
      for (let i = 0; i < CREATES; i++) {
        const name = `new${i}`;
        const shown = w.next(`shown: ${name}`);
        await m.CreateDomain(name, {});
        const returned = performance.now();
        await shown;
        // The frame may be painted before the reply arrives (the signals
        // precede it): no lag then.
        lags.push(Math.max(0, w.arrived.get(`shown: ${name}`)! - returned));
      }
      bus.disconnect();
      const p50 = median(lags);
      console.log(JSON.stringify({ bench: 'desktop', what: 'created by another client, shown after CreateDomain returned', guests: GUESTS, p50_ms: round(p50), max_ms: round(Math.max(...lags)) }));
      target(`guest created elsewhere shown, p50 after CreateDomain returned (${GUESTS} guests)`, p50, 100, ' ms');
    } finally {
      await w.close();
    }
  } finally {
    await empty.destroy();
    await full.destroy();
    await screen.stop();
  }
  for (const r of results) console.log(JSON.stringify({ bench: 'desktop', ...r }));
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

await main();
