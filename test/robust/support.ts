// Shared by the robustness suites: a daemon built once per test process (so
// that twenty restarts do not cost twenty TypeScript compilations), a
// dbus-next client that shows error names, read-only views of the state
// directory and the lease database, and the invariants every suite checks.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import Database from 'better-sqlite3';
import dbus from 'dbus-next';
import ts from 'typescript';
import { PACKAGE_ROOT, Sandbox, type SandboxOptions } from '../../src/dev/sandbox.js';

const { Message } = dbus;

export const BUS_NAME = 'org.domud.Domud1';
export const MANAGER = '/org/domud/Domud1';
export const MANAGER_IFACE = 'org.domud.Domud1.Manager';
export const E = 'org.domud.Domud1.Error.';

interface Teardown {
  teardown(fn: () => unknown): void;
}

let built: string | undefined;

/**
 * The daemon's sources transpiled (no type check: `npm run typecheck` does
 * that) into a private tree beside a copy of package.json, so it starts in a
 * fraction of a second; the tree lives outside the project so that coverage
 * never counts it. Always the current sources, never a stale dist/.
 */
export function builtEntry(): string {
  if (built) return built;
  const out = mkdtempSync(join(tmpdir(), 'domud-built-'));
  chmodSync(out, 0o755); // tests run it as other users too
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []));
  for (const file of walk(join(PACKAGE_ROOT, 'src'))) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const dest = join(out, relative(PACKAGE_ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  copyFileSync(join(PACKAGE_ROOT, 'package.json'), join(out, 'package.json'));
  symlinkSync(join(PACKAGE_ROOT, 'node_modules'), join(out, 'node_modules'));
  symlinkSync(join(PACKAGE_ROOT, 'data'), join(out, 'data'));
  symlinkSync(join(PACKAGE_ROOT, 'bin'), join(out, 'bin'));
  built = join(out, 'src', 'daemon', 'main.js');
  return built;
}

/** A sandbox running the built daemon; torn down when the test ends. */
export async function sandbox(t: Teardown, o: SandboxOptions = {}, start = true): Promise<Sandbox> {
  const s = await Sandbox.create({ entry: builtEntry(), nodeArgs: [], ...o });
  t.teardown(() => s.destroy());
  if (start) await s.startDaemon();
  return s;
}

/** The error name of a failed call (a D-Bus error name, or JS: for anything else). */
export function errorName(e: unknown): string {
  const type = (e as { type?: unknown }).type;
  return typeof type === 'string' ? type : `JS:${(e as Error).message}`;
}

export type Args = { signature: string; body: unknown[] };

/** One dbus-next connection, calling by hand so any signature can be sent. */
export class Client {
  private constructor(readonly bus: dbus.MessageBus) {}

  static async open(address: string): Promise<Client> {
    const bus = dbus.sessionBus({ busAddress: address });
    // Errors after a daemon or bus death are expected; calls reject instead.
    bus.on('error', () => undefined);
    const c = new Client(bus);
    await c.raw('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', { signature: '', body: [] });
    return c;
  }

  async raw(destination: string, path: string, iface: string, member: string, a: Args): Promise<unknown[]> {
    const reply = await this.bus.call(new Message({ destination, path, interface: iface, member, signature: a.signature, body: a.body }));
    return reply?.body ?? [];
  }

  call(member: string, signature = '', ...body: unknown[]): Promise<unknown[]> {
    return this.raw(BUS_NAME, MANAGER, MANAGER_IFACE, member, { signature, body });
  }

  async prop(path: string, iface: string, name: string): Promise<unknown> {
    const [v] = await this.raw(BUS_NAME, path, 'org.freedesktop.DBus.Properties', 'Get', { signature: 'ss', body: [iface, name] });
    return (v as dbus.Variant).value;
  }

  close(): void {
    this.bus.disconnect();
  }
}

export const v = (signature: string, value: unknown) => new dbus.Variant(signature, value);

// ---- the state as each party sees it ----

export interface DomainRow {
  name: string;
  id: number;
  state: string;
  address: string;
}
export interface LeaseRow {
  address: string;
  name: string;
  mac: string;
}
export interface DbRow {
  address: string;
  name: string;
  mac: string;
  acquired_at: number;
  attrs: string;
}
export interface SimDomain {
  name: string;
  id: number;
}
export interface Route {
  dst: string;
  dev: string;
  prefsrc?: string;
}

/** Every lease row, read with a read-only connection (WAL: no writes, no checkpoint). */
export function dbRows(stateDir: string): DbRow[] {
  const db = new Database(join(stateDir, 'leases.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT address, name, mac, acquired_at, attrs FROM leases ORDER BY ip').all() as DbRow[];
  } finally {
    db.close();
  }
}

/** Every table of the lease database, row by row, for before/after comparisons. */
export function dbDump(stateDir: string): string {
  const db = new Database(join(stateDir, 'leases.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    return JSON.stringify(tables.map((n) => [n, db.prepare(`SELECT * FROM "${n}"`).raw().all()]));
  } finally {
    db.close();
  }
}

/** The state directory's files (the database's own files by name only) with content hashes. */
export function stateListing(stateDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      const rel = relative(stateDir, p);
      if (e.isDirectory()) {
        out.push(`${rel}/ ${(statSync(p).mode & 0o7777).toString(8)}`);
        walk(p);
      } else if (/^(leases\.db|domud\.lock)/.test(rel)) out.push(rel);
      else out.push(`${rel} ${(statSync(p).mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(stateDir);
  return out;
}

export function guestConfigs(stateDir: string): string[] {
  return readdirSync(join(stateDir, 'domains')).sort();
}

/** The simulator's own list (Domain-0 left out). */
export async function simList(s: Sandbox): Promise<SimDomain[]> {
  const r = await s.sim(['list']);
  if (r.code !== 0) throw new Error(`simulator list failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] !== 'Domain-0')
    .map((f) => ({ name: f[0]!, id: Number(f[1]) }));
}

export async function routes(s: Sandbox): Promise<Route[]> {
  const r = await s.ip(['-j', 'route', 'show']);
  if (r.code !== 0) throw new Error(`ip route failed: ${r.stderr}`);
  return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as Route[]);
}

export async function forwarding(s: Sandbox): Promise<string> {
  const r = s.netns ? await s.exec('ip', ['netns', 'exec', s.netns, 'cat', '/proc/sys/net/ipv4/ip_forward']) : await s.exec('cat', ['/proc/sys/net/ipv4/ip_forward']);
  return r.stdout.trim();
}

export interface Observed {
  domains: DomainRow[];
  leases: LeaseRow[];
  db: DbRow[];
  sim: SimDomain[];
  routes: Route[];
  forwarding: string;
  configs: string[];
}

export async function observe(s: Sandbox, c: Client): Promise<Observed> {
  const [[d], [l]] = await Promise.all([c.call('ListDomains'), c.call('ListLeases')]);
  return {
    domains: (d as Array<[string, number, string, string, string]>).map(([name, id, state, address]) => ({ name, id, state, address })),
    leases: (l as Array<[string, string, string, bigint]>).map(([address, name, mac]) => ({ address, name, mac })),
    db: dbRows(s.stateDir),
    sim: await simList(s),
    routes: await routes(s),
    forwarding: await forwarding(s),
    configs: guestConfigs(s.stateDir),
  };
}

const PREFIX = '172.20.216.';

/**
 * Everything that must hold whenever no call is in flight: leases and domains
 * match one to one (on the bus and in the file), no address twice, never .0,
 * .1 or .255, the toolstack's guests are domud's and each has exactly its
 * route, no other route in the range, no stray guest config, forwarding off.
 */
export function violations(o: Observed): string[] {
  const bad: string[] = [];
  const byName = (rows: Array<{ name: string; address: string }>) => JSON.stringify([...rows].map((r) => [r.name, r.address]).sort());
  if (byName(o.domains) !== byName(o.leases)) bad.push(`ListDomains ${byName(o.domains)} != ListLeases ${byName(o.leases)}`);
  if (byName(o.db) !== byName(o.leases)) bad.push(`database ${byName(o.db)} != ListLeases ${byName(o.leases)}`);
  for (const r of o.db) {
    const phase = (JSON.parse(r.attrs) as { phase?: string }).phase;
    if (phase !== 'ready') bad.push(`lease of ${r.name} is in phase ${phase} with no call in flight`);
  }
  const addrs = o.db.map((r) => r.address);
  if (new Set(addrs).size !== addrs.length) bad.push(`an address twice: ${addrs.join(' ')}`);
  for (const a of addrs) {
    if (!a.startsWith(PREFIX) || ['0', '1', '255'].includes(a.slice(PREFIX.length))) bad.push(`address ${a} must never be leased`);
  }
  const known = new Map(o.domains.map((d) => [d.name, d]));
  const running = new Map(o.sim.map((g) => [g.name, g]));
  for (const g of o.sim) {
    const d = known.get(g.name);
    if (!d) {
      bad.push(`guest ${g.name} (id ${g.id}) runs but domud does not know it`);
      continue;
    }
    if (d.id !== g.id) bad.push(`${g.name}: domud says id ${d.id}, the toolstack ${g.id}`);
    const mine = o.routes.filter((r) => r.dst === d.address || r.dst === `${d.address}/32`);
    const want = { dev: `vif${g.id}.0`, src: `${PREFIX}1` };
    if (mine.length !== 1 || mine[0]!.dev !== want.dev || mine[0]!.prefsrc !== want.src) {
      bad.push(`${g.name}: want one route ${d.address} dev ${want.dev} src ${want.src}, have ${JSON.stringify(mine)}`);
    }
    if (!o.configs.includes(`${g.name}.cfg`)) bad.push(`${g.name} runs without its guest config`);
  }
  for (const d of o.domains) {
    if (!running.has(d.name) && d.id !== -1) bad.push(`${d.name}: domud says id ${d.id} but the toolstack lists no such guest`);
  }
  for (const r of o.routes) {
    if (!r.dst.startsWith(PREFIX)) continue;
    const owner = o.domains.find((d) => d.address === r.dst.replace(/\/32$/, ''));
    if (!owner || !running.has(owner.name)) bad.push(`route ${r.dst} dev ${r.dev} without a running guest`);
  }
  for (const f of o.configs) {
    if (!known.has(f.replace(/\.cfg$/, ''))) bad.push(`guest config ${f} of no known domain`);
  }
  if (o.forwarding !== '0') bad.push(`ip_forward is ${o.forwarding}`);
  return bad;
}

/**
 * Polls until the invariants hold (a reconcile round or two after a restart
 * or a shutdown that finishes on its own), or gives up and returns the last
 * violations seen.
 */
export async function settle(s: Sandbox, c: Client, ms = 15_000): Promise<{ o: Observed; bad: string[] }> {
  const until = Date.now() + ms;
  for (;;) {
    const o = await observe(s, c);
    const bad = violations(o);
    if (bad.length === 0 || Date.now() > until) return { o, bad };
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** The pid's resident set in KiB, from /proc. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** The node process of the daemon (the Sandbox may run it through `ip netns exec`, which execs it). */
export function daemonPid(s: Sandbox): number {
  const pid = s.daemon?.pid;
  if (pid === undefined) throw new Error('no daemon');
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  if (comm === 'node') return pid;
  const kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n');
  return Number(kids[0]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A reproducible PRNG (mulberry32), so a failing run can be replayed with its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
