// The toolstack wrapper's own costs: parsing a 1,000-domain `list` (target
// ≤ 5 ms) and one call through the wrapper against spawning the simulator
// directly with the same argv and environment (target ≤ 1.1×).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openToolstack, parseList } from '../src/xm/index.js';

// dist/bench/xm.js and bench/xm.ts are both two levels below the root
const SIM = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/xm-sim');

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const round = (x: number) => Math.round(x * 1000) / 1000;

function listText(n: number, flavour: 'xm' | 'xl'): string {
  const lines = [flavour === 'xl' ? 'Name                                        ID   Mem VCPUs\tState\tTime(s)' : 'Name                                        ID   Mem VCPUs      State   Time(s)'];
  lines.push('Domain-0                                     0  1024     2     r-----    123.4');
  for (let i = 1; i < n; i++) {
    const name = `guest-${i}`.padEnd(40);
    lines.push(`${name} ${String(i).padStart(5)} ${'128'.padStart(5)} ${'1'.padStart(5)}     ${i % 7 === 0 ? 'r-----' : '-b----'}  ${(i / 10).toFixed(1).padStart(8)}`);
  }
  return lines.join('\n') + '\n';
}

function benchParse(): void {
  for (const flavour of ['xm', 'xl'] as const) {
    const text = listText(1000, flavour);
    for (let i = 0; i < 50; i++) parseList(text); // warm up
    const times: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t0 = process.hrtime.bigint();
      const l = parseList(text);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (l.length !== 1000) throw new Error('parse lost domains');
    }
    const p50 = percentile(times, 50);
    console.log(JSON.stringify({ bench: `xm.parseList1000.${flavour}`, unit: 'ms', p50: round(p50), p99: round(percentile(times, 99)), target: 5, ratio: round(p50 / 5) }));
  }
}

function direct(env: Record<string, string>): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn(SIM, ['list'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout.resume();
    c.stderr.resume();
    c.on('error', rej);
    c.on('close', (status) => (status === 0 ? res() : rej(new Error(`xm-sim list: ${status}`))));
  });
}

async function benchOverhead(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'xm-bench-'));
  try {
    const extra = { XMSIM_STATE: dir, XMSIM_FLAVOR: 'xl' };
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C', ...extra };
    const ts = await openToolstack({ command: SIM, timeoutMs: 10_000, env: extra, flavour: 'xl' });
    for (let i = 0; i < 20; i++) {
      const cfg = join(dir, `g${i}.cfg`);
      writeFileSync(cfg, `name = "g${i}"\nmemory = 64\nvcpus = 1\nkernel = "/boot/vmlinuz"\n`);
      await ts.create(cfg);
    }
    const d: number[] = [];
    const w: number[] = [];
    for (let i = 0; i < 10; i++) {
      await direct(env);
      await ts.list();
    }
    // Alternate the two so that drift in machine load hits both alike.
    for (let i = 0; i < 150; i++) {
      let t0 = performance.now();
      await direct(env);
      d.push(performance.now() - t0);
      t0 = performance.now();
      await ts.list();
      w.push(performance.now() - t0);
    }
    const dp = percentile(d, 50);
    const wp = percentile(w, 50);
    console.log(JSON.stringify({ bench: 'xm.call.direct', unit: 'ms', p50: round(dp), p99: round(percentile(d, 99)) }));
    console.log(JSON.stringify({ bench: 'xm.call.wrapper', unit: 'ms', p50: round(wp), p99: round(percentile(w, 99)) }));
    console.log(JSON.stringify({ bench: 'xm.call.overhead', unit: 'ratio', ratio: round(wp / dp), target: 1.1 }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

benchParse();
await benchOverhead();
