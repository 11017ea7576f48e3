// Thousands of random operations against a tiny model of next-fit leasing;
// after each one the allocator and the model must agree exactly and the
// invariants must hold. The seed is printed so that a failure can be replayed.
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Allocator, Pool } from '../../src/ipam/index.js';
import { MAC, fresh } from './fresh.js';
import { addressToInt, intToAddress } from '../../src/ipam/pool.js';

type Tap = Test;



function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The model: which name holds which address, and the last address handed out. */
class Model {
  byName = new Map<string, number>();
  byIp = new Map<number, string>();
  cursor: number;
  constructor(readonly pool: Pool) {
    this.cursor = pool.last;
  }
  next(): number | undefined {
    const { first, last } = this.pool;
    const span = last - first + 1;
    for (let k = 1; k <= span; k++) {
      const ip = first + ((this.cursor - first + k) % span);
      if (!this.byIp.has(ip)) return ip;
    }
    return undefined;
  }
  /** The code the allocator must throw, or the address it must grant. */
  allocate(name: string, wanted?: number): number | string {
    if (wanted !== undefined && this.pool.unleasable(wanted)) return 'AddressUnavailable';
    if (this.byName.has(name)) return 'LeaseExists';
    if (wanted !== undefined && this.byIp.has(wanted)) return 'AddressUnavailable';
    const ip = wanted ?? this.next();
    if (ip === undefined) return 'PoolExhausted';
    this.byName.set(name, ip);
    this.byIp.set(ip, name);
    this.cursor = ip;
    return ip;
  }
  release(name: string): number | undefined {
    const ip = this.byName.get(name);
    if (ip === undefined) return undefined;
    this.byName.delete(name);
    this.byIp.delete(ip);
    return ip;
  }
}

function run(t: Tap, range: string, seed: number, ops: number): void {
  const random = rng(seed);
  t.comment(`range ${range} seed ${seed}`);
  let { a, path } = fresh(t, range);
  const pool = a.pool;
  const model = new Model(pool);
  const names = Array.from({ length: Math.ceil(pool.total * 1.5) }, (_, i) => `d${i}`);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let failures = 0;
  const check = (cond: boolean, what: string) => {
    if (!cond && failures++ < 5) t.fail(`op ${what}`);
  };
  for (let i = 0; i < ops && failures === 0; i++) {
    const r = random();
    const name = pick(names);
    if (r < 0.5) {
      const want = model.allocate(name);
      let got: number | string;
      try {
        got = addressToInt(a.allocate(name, MAC).address)!;
      } catch (e) {
        got = (e as { code: string }).code;
      }
      check(got === want, `${i}: allocate ${name}: model ${want}, allocator ${got}`);
      if (typeof got === 'number') check(got === model.cursor, `${i}: next-fit order`);
    } else if (r < 0.65) {
      // anywhere from just below the network to just above the broadcast
      const ip = pool.networkInt - 1 + Math.floor(random() * (pool.total + 5));
      const want = model.allocate(name, ip);
      let got: number | string;
      try {
        got = addressToInt(a.allocate(name, MAC, { address: intToAddress(ip) }).address)!;
      } catch (e) {
        got = (e as { code: string }).code;
      }
      check(got === want, `${i}: request ${intToAddress(ip)} for ${name}: model ${want}, allocator ${got}`);
    } else if (r < 0.995) {
      const want = model.release(name);
      const got = a.release(name);
      check((got && addressToInt(got.address)) === want, `${i}: release ${name}`);
    } else {
      a.close();
      a = Allocator.open(path, pool);
    }
    invariants(a, model, check, i);
  }
  a.close();
  t.equal(failures, 0, `${ops} operations agreed with the model`);
}

function invariants(a: Allocator, model: Model, check: (c: boolean, w: string) => void, i: number): void {
  const { pool } = a;
  const leases = a.list();
  const ips = leases.map((l) => addressToInt(l.address)!);
  check(new Set(ips).size === ips.length && new Set(leases.map((l) => l.name)).size === leases.length, `${i}: no duplicates`);
  check(ips.every((ip) => pool.unleasable(ip) === undefined), `${i}: never network, broadcast or dom0`);
  check(a.inUse() === leases.length && leases.length === model.byName.size, `${i}: counts agree`);
  check(leases.every((l) => model.byName.get(l.name) === addressToInt(l.address)), `${i}: same leases as the model`);
  // the free runs the triggers keep are exactly the complement of the leases
  const db = (a as unknown as { db: Database.Database }).db;
  const runs = db.prepare('SELECT s, e FROM free ORDER BY e').all() as { s: number; e: number }[];
  const free: number[] = [];
  for (const { s, e } of runs) for (let ip = s; ip <= e; ip++) free.push(ip);
  const expected: number[] = [];
  for (let ip = pool.first; ip <= pool.last; ip++) if (!model.byIp.has(ip)) expected.push(ip);
  check(free.join() === expected.join(), `${i}: free runs match the leases`);
  check(runs.every((r, k) => k === 0 || r.s > runs[k - 1]!.e + 1), `${i}: free runs are disjoint and merged`);
}

t.test('a /28, often full, often wrapping', async (t) => run(t, '10.9.8.16/28', Date.now() % 100000, 4000));
t.test('a /30, one address', async (t) => run(t, '10.9.8.4/30', Date.now() % 100000, 500));
t.test('a /24, mostly free', async (t) => run(t, '10.9.8.0/24', Date.now() % 100000, 1500));
