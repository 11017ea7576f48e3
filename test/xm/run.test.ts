import t from 'tap';
import { cleanEnv, run } from '../../src/xm/run.js';
import { CallQueue } from '../../src/xm/queue.js';

const opts = { timeoutMs: 5000, killGraceMs: 200, maxOutput: 150, env: cleanEnv() };

t.test('output beyond the bound is dropped, in one chunk or several', async (t) => {
  const one = await run('/bin/sh', ['-c', 'head -c 400 /dev/zero | tr "\\0" a'], opts);
  t.equal(one.stdout.length, 150);
  t.ok(one.truncated);
  const several = await run('/bin/sh', ['-c', 'printf %0100d 0; sleep 0.1; printf %0100d 0; sleep 0.1; printf %0100d 0 >&2'], opts);
  t.equal(several.stdout.length, 150);
  t.equal(several.stderr.length, 100);
  t.ok(several.truncated);
  const small = await run('/bin/sh', ['-c', 'echo hi; exit 3'], opts);
  t.same(small, { status: 3, signal: null, stdout: 'hi\n', stderr: '', truncated: false });
});

t.test('the environment is clean plus what is asked for', async (t) => {
  process.env.DOMUD_SECRET_TEST = 'leak';
  t.teardown(() => delete process.env.DOMUD_SECRET_TEST);
  const r = await run('/usr/bin/env', ['-0'], { ...opts, maxOutput: 1 << 16, env: cleanEnv({ XMSIM_STATE: '/x' }) });
  // tap's coverage hook adds its own variables to every spawn; they are not ours
  const ours = r.stdout.split('\0').filter((l) => l !== '' && !/^(_TAPJS_|NODE_OPTIONS=)/.test(l));
  t.same(ours.sort(), ['LANG=C', 'LC_ALL=C', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'XMSIM_STATE=/x']);
});

t.test('arguments are never seen by a shell', async (t) => {
  const r = await run('/bin/echo', ['$(id)', '; rm -rf /', '`x`'], opts);
  t.equal(r.stdout, '$(id) ; rm -rf / `x`\n');
});

t.test('a timeout kills the whole process group', async (t) => {
  // the shell's child holds the pipe open: only a group kill ends it
  const started = Date.now();
  await t.rejects(run('/bin/sh', ['-c', 'sleep 30 & wait'], { ...opts, timeoutMs: 200 }), { code: 'ToolstackTimeout' });
  t.ok(Date.now() - started < 10_000);
});

t.test('a timeout does not wait for a process that escaped the group with our pipe', async (t) => {
  const pidFile = `/tmp/xm-run-test-${process.pid}`;
  t.teardown(async () => {
    const { readFileSync, rmSync } = await import('node:fs');
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')));
    } catch {
      // already gone
    }
    rmSync(pidFile, { force: true });
  });
  const started = Date.now();
  const script = `setsid sleep 30 & echo $! > ${pidFile}`;
  await t.rejects(run('/bin/sh', ['-c', script], { ...opts, timeoutMs: 200, killGraceMs: 100 }), { code: 'ToolstackTimeout' });
  t.ok(Date.now() - started < 10_000);
});

t.test('CallQueue: one key at a time, others in parallel up to the limit', async (t) => {
  const q = new CallQueue(2);
  const log: string[] = [];
  let active = 0;
  let peak = 0;
  const job = (name: string, ms: number) => async () => {
    active++;
    peak = Math.max(peak, active);
    log.push(`+${name}`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`-${name}`);
    active--;
    return name;
  };
  const results = await Promise.all([q.run('a', job('a1', 30)), q.run('a', job('a2', 10)), q.run('b', job('b1', 10)), q.run(undefined, job('n1', 10)), q.run('c', job('c1', 10))]);
  t.same(results, ['a1', 'a2', 'b1', 'n1', 'c1']);
  t.equal(peak, 2);
  t.ok(log.indexOf('-a1') < log.indexOf('+a2'), 'a2 starts after a1 ends');
  await t.rejects(q.run('a', () => Promise.reject(new Error('boom'))), /boom/);
  t.equal(await q.run('a', async () => 'after'), 'after');
});
