// src/net against a real kernel: a throwaway network namespace with 1,000
// veth pairs named like Xen vifs, all set up as domud would. Figures:
// reconcile of 1,000 running guests when nothing needs to change (target
// ≤ 50 ms), and bringing one vif up (and down). Every figure is set beside
// the floor: one `ip link show dev lo` spawned the same way, measured in the
// same rounds, since process start-up dominates and depends on the machine's
// load. Prints JSON lines, then the ratios against the targets. The namespace
// goes at the end, even on error.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Routes, type VifRoute } from '../src/net/index.js';
import { run } from '../src/net/ip.js';

const GUESTS = Number(process.env.BENCH_GUESTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const UPS = Number(process.env.BENCH_UPS ?? 100);
const RECONCILE_TARGET_MS = 50;
const RANGE = '172.20.216.0/22';
const DOM0 = '172.20.216.1';
const ns = `domud-bench-${randomBytes(4).toString('hex')}`;
const execFileP = promisify(execFile);

const guestAddress = (i: number) => {
  const n = 2 + i; // .0 network, .1 dom0
  return `172.20.${216 + (n >> 8)}.${n & 255}`;
};

function withInput(argv: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: status ${status}`))));
    child.stdin.end(input);
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
}

async function ms(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const out = (o: object) => console.log(JSON.stringify(o));

async function main(): Promise<void> {
  await execFileP('ip', ['netns', 'add', ns]);
  // Setup in two processes: `ip -batch` for links, addresses and routes, one
  // `tee` for every proxy_arp, the state up() leaves behind for each guest.
  const guests: VifRoute[] = [];
  const lines: string[] = [];
  for (let i = 1; i <= GUESTS; i++) {
    const vif = `vif${i}.0`;
    const address = guestAddress(i);
    guests.push({ vif, address });
    lines.push(
      `link add ${vif} type veth peer name dU${i}`,
      `addr replace ${DOM0}/32 dev ${vif}`,
      `link set ${vif} up`,
      `route replace ${address}/32 dev ${vif} src ${DOM0}`,
    );
  }
  const setup = await ms(() => withInput(['ip', '-n', ns, '-batch', '-'], lines.join('\n') + '\n'));
  await withInput(['ip', 'netns', 'exec', ns, 'tee', ...guests.map((g) => `/proc/sys/net/ipv4/conf/${g.vif}/proxy_arp`)], '1\n');
  out({ bench: 'net.setup', guests: GUESTS, unit: 'ms', total: Math.round(setup) });

  const routes = new Routes({ range: RANGE, dom0: DOM0, netns: ns });
  const first = await routes.reconcile(guests);
  if (first.length !== 0) throw new Error(`setup left ${first.length} change(s), e.g. ${JSON.stringify(first[0])}`);

  const floor = () => ms(() => run(['ip', '-n', ns, 'link', 'show', 'dev', 'lo']));
  const times: number[] = [];
  const floors: number[] = [];
  for (let r = 0; r < 3 + ROUNDS; r++) {
    let changes: unknown[] = [];
    const t = await ms(async () => {
      changes = await routes.reconcile(guests);
    });
    if (changes.length !== 0) throw new Error('reconcile changed something in a steady state');
    const f = await floor();
    if (r >= 3) {
      times.push(t); // the first rounds warm up JIT and caches
      floors.push(f);
    }
  }
  const p50 = pct(times, 50);
  out({ bench: 'net.ip_floor', what: 'ip -n NS link show dev lo', unit: 'ms', n: floors.length, p50: pct(floors, 50), p99: pct(floors, 99) });
  out({ bench: 'net.reconcile_nochange', guests: GUESTS, unit: 'ms', n: times.length, p50, p99: pct(times, 99) });

  // One vif, brought up and down again and again (down is not timed into up).
  await execFileP('ip', ['-n', ns, 'link', 'add', 'vif0.0', 'type', 'veth', 'peer', 'name', 'dU0']);
  const one = { vif: 'vif0.0', address: guestAddress(GUESTS + 1) };
  const ups: number[] = [];
  const downs: number[] = [];
  const floors2: number[] = [];
  for (let r = 0; r < 5 + UPS; r++) {
    const u = await ms(() => routes.up(one));
    const d = await ms(() => routes.down(one));
    const f = await floor();
    if (r >= 5) {
      ups.push(u);
      downs.push(d);
      floors2.push(f);
    }
  }
  out({ bench: 'net.up', unit: 'ms', n: ups.length, p50: pct(ups, 50), p99: pct(ups, 99), floor_p50: pct(floors2, 50) });
  out({ bench: 'net.down', unit: 'ms', n: downs.length, p50: pct(downs, 50), p99: pct(downs, 99), floor_p50: pct(floors2, 50) });

  const ratio = Math.round((p50 / RECONCILE_TARGET_MS) * 100) / 100;
  out({
    bench: 'net.ratio',
    what: `reconcile p50 with ${GUESTS} guests, nothing to change / ${RECONCILE_TARGET_MS} ms`,
    ratio,
    target: 1,
    ok: ratio <= 1,
  });
  const spawns = Math.round((p50 / pct(floors, 50)) * 10) / 10;
  out({ bench: 'net.ratio', what: 'reconcile p50 / ip floor p50 (cost in ip spawns, load-independent)', ratio: spawns });
  const upSpawns = Math.round((pct(ups, 50) / pct(floors2, 50)) * 10) / 10;
  out({ bench: 'net.ratio', what: 'up p50 / ip floor p50', ratio: upSpawns });
}

try {
  await main();
} finally {
  await execFileP('ip', ['netns', 'del', ns]).catch(() => undefined);
}
