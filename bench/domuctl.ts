// domuctl start-up, hyperfine-style: each command run N times (interleaved,
// after warm-up runs), wall time per run, p50/p99 in ms. The target is one
// `domuctl list` against a running daemon within 2.5x of `node -e 0`, with
// domuctl on dbus-next's public API (issue #21). Also what importing
// dbus-next costs by itself, the larger part of that.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT, Sandbox } from '../src/dev/sandbox.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;
const TARGET = 2.5;
const DOMUCTL = join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'domuctl.js');

function timeOnce(argv: readonly string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], cwd: PACKAGE_ROOT });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Runs every case RUNS times, round-robin, so that machine load hits all alike. */
function measure(cases: Readonly<Record<string, readonly string[]>>): Record<string, { p50: number; p99: number }> {
  const times: Record<string, number[]> = {};
  for (const [name, argv] of Object.entries(cases)) {
    for (let i = 0; i < WARMUP; i++) timeOnce(argv);
    times[name] = [];
  }
  for (let i = 0; i < RUNS; i++) for (const [name, argv] of Object.entries(cases)) times[name]!.push(timeOnce(argv));
  const out: Record<string, { p50: number; p99: number }> = {};
  for (const [name, t] of Object.entries(times)) {
    const s = [...t].sort((a, b) => a - b);
    out[name] = { p50: quantile(s, 0.5), p99: quantile(s, 0.99) };
  }
  return out;
}

const round = (n: number) => Math.round(n * 100) / 100;
const print = (bench: string, r: { p50: number; p99: number }) => console.log(JSON.stringify({ bench, unit: 'ms', p50: round(r.p50), p99: round(r.p99), runs: RUNS }));

const s = await Sandbox.create({ flavour: 'xl' });
try {
  await s.startDaemon();
  for (const name of ['web1', 'web2', 'db1']) timeOnce([process.execPath, DOMUCTL, '--bus', s.address, 'create', name]);
  const node = process.execPath;
  const r = measure({
    'node -e 0': [node, '-e', '0'],
    'domuctl --help': [node, DOMUCTL, '--help'],
    'domuctl list': [node, DOMUCTL, '--bus', s.address, 'list'],
    'require dbus-next': [node, '-e', "require('dbus-next')"],
  });
  print('domuctl.node-e0', r['node -e 0']!);
  print('domuctl.help', r['domuctl --help']!);
  print('domuctl.list', r['domuctl list']!);
  print('domuctl.import.dbus-next', r['require dbus-next']!);
  const ratio = r['domuctl list']!.p50 / r['node -e 0']!.p50;
  console.log(JSON.stringify({ bench: 'domuctl.list.ratio', unit: 'x', value: round(ratio), target: TARGET, met: ratio <= TARGET }));
  console.log(JSON.stringify({ bench: 'domuctl.help.ratio', unit: 'x', value: round(r['domuctl --help']!.p50 / r['node -e 0']!.p50) }));
} finally {
  await s.stopDaemon();
  await s.destroy();
}
