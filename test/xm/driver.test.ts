// One suite, run against the simulator as xm 4.1, xm 3.0.3 and xl: the
// driver code must not care which one it talks to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  ConfigValueError,
  DomainExistsError,
  DomainNotFoundError,
  ListParseError,
  openToolstack,
  ToolstackFailedError,
  ToolstackTimeoutError,
  writeGuestConfig,
  type GuestSpec,
  type OpenOptions,
  type Toolstack,
} from '../../src/xm/index.js';
import { FLAVOURS, SIM, sim, stateDir, type Flavour, type Teardown } from '../../sim/testing.js';

const spec = (name: string): GuestSpec => ({
  name,
  memory: 64,
  vcpus: 1,
  kernel: '/boot/vmlinuz-test',
  extra: 'console=hvc0',
  disks: [],
  vif: { mac: '00:16:3e:00:00:02', ip: '172.20.216.2', script: 'vif-route' },
});

interface Rig {
  dir: string;
  env: Record<string, string>;
  ts: Toolstack;
  /** runs a simulator control command (fault, crash, vanish, set) */
  ctl: (...args: string[]) => Promise<void>;
  create: (name: string) => Promise<void>;
}

async function rig(t: Teardown, f: Flavour, more: Partial<OpenOptions> = {}): Promise<Rig> {
  const dir = stateDir(t);
  const env = { ...f.env, XMSIM_STATE: dir, XMSIM_SHUTDOWN_DELAY_MS: '200' };
  const ts = await openToolstack({ command: SIM, timeoutMs: 10_000, env, killGraceMs: 300, ...more });
  const ctl = async (...args: string[]) => {
    const r = await sim(env, args);
    if (r.status !== 0) throw new Error(`xm-sim ${args.join(' ')}: ${r.stderr}`);
  };
  const create = async (name: string) => ts.create(await writeGuestConfig(dir, spec(name)), { name });
  return { dir, env, ts, ctl, create };
}


// Many short processes: CI machines can be busy.
t.setTimeout(300_000);

function suite(f: Flavour): void {
  t.test(f.label, async (t) => {
    t.test('detects which CLI it is and lists Domain-0', async (t) => {
      const { ts } = await rig(t, f);
      t.equal(ts.kind, f.kind);
      t.equal(ts.command, SIM);
      const l = await ts.list();
      t.match(l, [{ name: 'Domain-0', id: 0, state: 'running', flags: 'r-----' }]);
      const info = await ts.info();
      t.equal(info.xen_major, '4');
      t.equal('xen_version' in info, f.kind === 'xl');
    });

    t.test('create, domid, list, destroy', async (t) => {
      const { ts, create } = await rig(t, f);
      await create('web');
      await create('db');
      const web = await ts.domid('web');
      const db = await ts.domid('db');
      t.ok(web > 0 && db > web, `ids increase: ${web} ${db}`);
      t.match(await ts.list(), [{ name: 'Domain-0' }, { name: 'web', id: web, memory: 64, vcpus: 1, state: 'blocked' }, { name: 'db', id: db }]);
      await ts.destroy('web');
      await t.rejects(ts.domid('web'), DomainNotFoundError);
      await create('web');
      t.ok((await ts.domid('web')) > db, 'a new domain gets a new id');
    });

    t.test('create of a name in use is DomainExistsError', async (t) => {
      const { ts, create } = await rig(t, f);
      await create('web');
      await t.rejects(create('web'), DomainExistsError);
      await t.rejects(create('web'), { code: 'DomainExists' });
    });

    t.test('create of a config the tool cannot read is ToolstackFailedError with its first error line', async (t) => {
      const { ts, dir } = await rig(t, f);
      const { writeFileSync } = await import('node:fs');
      const bad = join(dir, 'bad.cfg');
      // Python can read this, libxlu cannot (and vice versa below).
      writeFileSync(bad, f.kind === 'xl' ? 'name = "a"\nmemory = 64 + 1\n' : 'name = "a"\nmemory = = 64\n');
      const e = await ts.create(bad).catch((e) => e);
      t.type(e, ToolstackFailedError);
      t.equal(e.code, 'ToolstackFailed');
      t.equal(e.status, 1);
      t.match(e.firstLine, f.kind === 'xl' ? /config parsing error near/ : /^Error: Errors were found at line 2/);
      await t.rejects(ts.create(join(dir, 'missing.cfg')), ToolstackFailedError);
      await t.rejects(ts.create('relative.cfg'), { code: 'ConfigValue', field: 'configPath' });
      await t.rejects(ts.create(bad, { name: '-x' }), ConfigValueError);
    });

    t.test('unknown domains: NotFound for domid and shutdown, success for destroy', async (t) => {
      const { ts } = await rig(t, f);
      const e = await ts.domid('ghost').catch((e) => e);
      t.type(e, DomainNotFoundError);
      t.equal(e.domain, 'ghost');
      t.equal(e.code, 'DomainNotFound');
      await t.rejects(ts.shutdown('ghost'), DomainNotFoundError);
      await t.rejects(ts.shutdown('ghost', { wait: true }), DomainNotFoundError);
      await t.resolves(ts.destroy('ghost'));
    });

    t.test('names that could be options or ids never reach argv', async (t) => {
      const { ts } = await rig(t, f);
      for (const name of ['-w', '--help', '0', '17', '', 'a b', 'x\n']) {
        await t.rejects(ts.domid(name), ConfigValueError, JSON.stringify(name));
        await t.rejects(ts.destroy(name), ConfigValueError);
        await t.rejects(ts.shutdown(name, { wait: true }), ConfigValueError);
      }
    });

    t.test('shutdown without wait returns at once; the domain goes a little later', async (t) => {
      const { ts, create, ctl, env } = await rig(t, f);
      await create('web');
      await ctl('set', 'shutdown-delay', '1500');
      await ts.shutdown('web');
      t.ok((await ts.list()).some((d) => d.name === 'web'), 'still there right after');
      // the simulator's reaper removes it without anyone asking
      await new Promise((r) => setTimeout(r, 1700));
      t.notOk((await sim(env, ['list'])).stdout.includes('web'), 'gone after the shutdown delay');
    });

    t.test('shutdown -w waits until the domain has gone', async (t) => {
      const { ts, create } = await rig(t, f);
      await create('web');
      await ts.shutdown('web', { wait: true });
      t.notOk((await ts.list()).some((d) => d.name === 'web'));
      await t.rejects(ts.domid('web'), DomainNotFoundError);
    });

    t.test('shutdown -w is bounded by our timeout', async (t) => {
      const { ts, create, ctl } = await rig(t, f);
      await create('web');
      await ctl('set', 'shutdown-delay', '60000');
      const e = await ts.shutdown('web', { wait: true, timeoutMs: 300 }).catch((e) => e);
      t.type(e, ToolstackTimeoutError);
      t.equal(e.code, 'ToolstackTimeout');
      t.equal(e.timeoutMs, 300);
      t.ok((await ts.list()).some((d) => d.name === 'web'), 'still shutting down');
      await ts.destroy('web');
      t.notOk((await ts.list()).some((d) => d.name === 'web'));
    });

    t.test('domains that crash or vanish behind our back', async (t) => {
      const { ts, create, ctl } = await rig(t, f);
      await create('web');
      await create('db');
      await ctl('crash', 'web');
      await ctl('pause', 'db');
      const l = await ts.list();
      t.match(l.find((d) => d.name === 'web'), { state: 'crashed', flags: f.kind === 'xl' ? '---sc-' : '----c-' });
      t.match(l.find((d) => d.name === 'db'), { state: 'paused' });
      await ctl('vanish', 'web');
      t.notOk((await ts.list()).some((d) => d.name === 'web'));
      await t.resolves(ts.destroy('web'), 'destroying a vanished domain is done');
    });

    t.test('fault: fail the next N calls with a text and status', async (t) => {
      const { ts, ctl } = await rig(t, f);
      await ctl('fault', 'list', '--fail', '2', '--status', '4', '--text', 'Error: Unable to connect to xend: No such file or directory. Is xend running?');
      for (let i = 0; i < 2; i++) {
        const e = await ts.list().catch((e) => e);
        t.type(e, ToolstackFailedError);
        t.equal(e.status, 4);
        t.equal(e.firstLine, 'Error: Unable to connect to xend: No such file or directory. Is xend running?');
        t.match(e.message, /exit status 4/);
      }
      t.match(await ts.list(), [{ name: 'Domain-0' }], 'the third call works');
    });

    t.test('fault: failures are classified by text, not by exit status', async (t) => {
      const { ts, ctl, create } = await rig(t, f);
      await create('web');
      await ctl('fault', 'destroy', '--fail', '1', '--status', '0', '--text', 'x');
      await ctl('fault', 'shutdown', '--fail', '1', '--status', '255', '--text', "Error: Domain 'web' does not exist.");
      await t.rejects(ts.shutdown('web'), DomainNotFoundError);
      await ctl('fault', 'shutdown', '--fail', '1', '--status', '1', '--text', 'libxl: error: libxl_domain.c:1181:libxl__destroy_domid: Domain 9:Non-existant domain');
      await t.rejects(ts.shutdown('web'), DomainNotFoundError);
      await ctl('fault', 'domid', '--fail', '1', '--status', '3', '--text', 'Error: permission denied');
      const e = await ts.domid('web').catch((e) => e);
      t.type(e, ToolstackFailedError);
      t.equal(e.status, 3);
      await ctl('fault', 'create', '--fail', '1', '--status', '2', '--text', "Error: VM name 'web' already in use by domain 1");
      await t.rejects(create('other'), DomainExistsError);
      await ctl('fault', 'destroy', '--fail', '1', '--status', '1', '--text', 'destroy failed (rc=-3)');
      await t.rejects(ts.destroy('web'), ToolstackFailedError, 'other destroy failures are failures');
    });

    t.test('fault: hang is killed at the timeout (SIGTERM)', async (t) => {
      const { ts, ctl } = await rig(t, f, { timeoutMs: 300 });
      await ctl('fault', 'list', '--hang', '--times', '1');
      const started = Date.now();
      await t.rejects(ts.list(), ToolstackTimeoutError);
      t.ok(Date.now() - started < 5000, 'did not wait for the grace period');
      t.match(await ts.list(), [{ name: 'Domain-0' }]);
    });

    t.test('fault: a hang that ignores SIGTERM gets SIGKILL after the grace', async (t) => {
      const { ts, ctl } = await rig(t, f, { timeoutMs: 300, killGraceMs: 200 });
      await ctl('fault', 'info', '--hang', '--ignore-term');
      await t.rejects(ts.info(), ToolstackTimeoutError);
      await ctl('fault', 'info', '--clear');
      t.ok(await ts.info());
    });

    t.test('fault: answering slowly is fine within the timeout, a timeout beyond it', async (t) => {
      const { ts, ctl, create } = await rig(t, f, { timeoutMs: 1500 });
      await create('web');
      await ctl('fault', 'domid', '--delay', '300');
      t.ok((await ts.domid('web')) > 0);
      await ctl('fault', 'domid', '--delay', '5000');
      await t.rejects(ts.domid('web'), ToolstackTimeoutError);
      await ctl('fault', 'all', '--clear');
      t.ok((await ts.domid('web')) > 0);
    });

    t.test('fault: garbage output is a ListParseError', async (t) => {
      const { ts, ctl, create } = await rig(t, f);
      await create('web');
      for (const sub of ['list', 'info', 'domid']) await ctl('fault', sub, '--garbage', '--seed', '7');
      await t.rejects(ts.list(), ListParseError);
      await t.rejects(ts.list(), { code: 'ListParse' });
      await t.rejects(ts.info(), ListParseError);
      await t.rejects(ts.domid('web'), ListParseError);
    });

    t.test('output beyond the capture bound is refused, not parsed in part', async (t) => {
      const { ts, create } = await rig(t, f, { maxOutput: 100 });
      await create('web');
      await t.rejects(ts.list(), /more than 100 bytes/);
    });

    t.test('calls for one domain run one at a time, calls for others side by side', async (t) => {
      const { ctl, create, dir, env } = await rig(t, f);
      for (const n of ['a', 'b', 'c']) await create(n);
      const trace = join(dir, 'trace');
      // a second toolstack on the same state, whose calls leave a trace
      const traced = await openToolstack({ command: SIM, timeoutMs: 10_000, env: { ...env, XMSIM_TRACE: trace }, maxParallel: 3 });
      await ctl('fault', 'domid', '--delay', '250');
      await Promise.all([traced.domid('a'), traced.domid('a'), traced.domid('a'), traced.domid('b'), traced.domid('c')]);
      const spans = spansOf(readFileSync(trace, 'utf8'));
      const forA = spans.filter((s) => s.args === 'domid a');
      t.equal(forA.length, 3);
      t.notOk(overlapping(forA), 'calls for a never overlap');
      t.ok(maxConcurrent(spans) >= 2, 'calls for different domains overlap');
      t.ok(maxConcurrent(spans) <= 3, 'never more than maxParallel at once');
    });

    t.test('maxParallel bounds calls across domains', async (t) => {
      const { ctl, create, dir, env } = await rig(t, f);
      for (const n of ['a', 'b', 'c', 'd']) await create(n);
      const trace = join(dir, 'trace');
      const ts = await openToolstack({ command: SIM, timeoutMs: 10_000, env: { ...env, XMSIM_TRACE: trace }, maxParallel: 2 });
      await ctl('fault', 'domid', '--delay', '150');
      t.same(await Promise.all(['a', 'b', 'c', 'd'].map((n) => ts.domid(n).then(() => n))), ['a', 'b', 'c', 'd']);
      const spans = spansOf(readFileSync(trace, 'utf8')).filter((s) => s.args.startsWith('domid'));
      t.equal(spans.length, 4);
      t.ok(maxConcurrent(spans) <= 2, 'at most two at once');
    });

    t.test('a failed call does not block the next one for that domain', async (t) => {
      const { ts, ctl, create } = await rig(t, f);
      await create('web');
      await ctl('fault', 'domid', '--fail', '1');
      const [first, second] = await Promise.allSettled([ts.domid('web'), ts.domid('web')]);
      t.equal(first.status, 'rejected');
      t.equal(second.status, 'fulfilled');
    });

    t.test('concurrent creates through separate processes get distinct ids (the state lock)', async (t) => {
      const { ts, create } = await rig(t, f, { maxParallel: 8 });
      const names = Array.from({ length: 8 }, (_, i) => `g${i}`);
      await Promise.all(names.map(create));
      const ids = (await ts.list()).filter((d) => d.name !== 'Domain-0').map((d) => d.id);
      t.equal(new Set(ids).size, 8);
    });
  });
}

interface Span {
  pid: string;
  args: string;
  start: number;
  end: number;
}

function spansOf(trace: string): Span[] {
  const open = new Map<string, Span>();
  const out: Span[] = [];
  for (const line of trace.trim().split('\n')) {
    const [what, pid, time, ...args] = line.split(' ');
    if (what === 'start') open.set(pid!, { pid: pid!, args: args.join(' '), start: Number(time), end: Infinity });
    else {
      const s = open.get(pid!)!;
      s.end = Number(time);
      out.push(s);
    }
  }
  return out.filter((s) => !s.args.startsWith('fault'));
}

function overlapping(spans: Span[]): boolean {
  const s = [...spans].sort((a, b) => a.start - b.start);
  return s.some((x, i) => i > 0 && x.start < s[i - 1]!.end);
}

function maxConcurrent(spans: Span[]): number {
  const events = spans.flatMap((s) => [
    [s.start, 1],
    [s.end, -1],
  ]) as [number, number][];
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (now += d));
  return max;
}


for (const f of FLAVOURS) suite(f);
