// The long-lived `ip -batch` process behind Routes' changes: answers matched
// to the right command, ip's own messages, one process for many changes, and
// a fresh process after anything odd (a stuck, dying or confused ip). Real
// ip in a real namespace, except where a stand-in must misbehave on purpose.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { IpBatch } from '../../src/net/batch.js';
import { IpCommandError, IpMissingError } from '../../src/net/index.js';
import { Ip } from '../../src/net/ip.js';
import { leftoverNamespaces, nsTest } from './netns.js';

if (process.getuid?.() !== 0) t.fail('these tests need root (CI runs as root); they are not skipped');

t.after(async () => {
  const left = await leftoverNamespaces();
  if (left.length > 0) throw new Error(`namespaces left behind: ${left.join(', ')}`);
});

/** An executable in a test directory that logs each start; `body` is the rest of its shell script. */
function program(t: Test, body: string): { path: string; starts: () => string[] } {
  const dir = t.testdir({});
  const path = join(dir, 'ip');
  const log = join(dir, 'starts');
  writeFileSync(log, '');
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${log}'\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, starts: () => readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

nsTest(t, 'changes in one process, each answered in turn, failures with ip\'s own message', async (t, ns) => {
  await ns.vif(1);
  const ip = program(t, 'exec ip "$@"');
  const batch = new IpBatch([ip.path, '-n', ns.name]);
  t.teardown(() => batch.close());
  // Written back to back, before any answer: each must get its own.
  const results = await Promise.allSettled([
    batch.run(['addr', 'replace', '172.20.216.1/32', 'dev', 'vif1.0']),
    batch.run(['link', 'set', 'vif9.0', 'up']),
    batch.run(['link', 'set', 'vif1.0', 'up']),
    batch.run(['route', 'replace', '172.20.216.5/32', 'dev', 'vif1.0', 'src', '172.20.216.1']),
    batch.run(['route', 'del', '172.20.216.77/32', 'dev', 'vif1.0']),
  ]);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected']);
  const missing = (results[1] as PromiseRejectedResult).reason as IpCommandError;
  t.type(missing, IpCommandError);
  t.same(missing.argv, [ip.path, '-n', ns.name, 'link', 'set', 'vif9.0', 'up']);
  t.equal(missing.stderr, 'Cannot find device "vif9.0"\n', 'only its own message, not the fence\'s');
  t.match((results[4] as PromiseRejectedResult).reason, { code: 'IpCommandFailed', stderr: /^RTNETLINK answers: No such process\n$/ });
  t.same(await ns.vifRoutes(), ['172.20.216.5 vif1.0 172.20.216.1 0'], 'the route is really there');
  t.same(await ns.link('vif1.0'), { up: true, inet: ['172.20.216.1/32'] });
  t.equal(ip.starts().length, 1, 'one process for all five');
  t.match(ip.starts()[0], /-force -batch -$/);

  // Closed: what was written still completes, and the next change starts a new process.
  const last = batch.run(['link', 'set', 'vif1.0', 'down']);
  batch.close();
  await last;
  t.same(await ns.link('vif1.0'), { up: false, inet: ['172.20.216.1/32'] });
  await batch.run(['link', 'set', 'vif1.0', 'up']);
  t.equal(ip.starts().length, 2);
});

t.test('refuses an argument that ip would split or read as syntax, and writes nothing', async (t) => {
  const ip = program(t, 'exec cat > /dev/null');
  const batch = new IpBatch([ip.path]);
  for (const bad of ['vif1.0 up', 'a\nlink', '"x"', "'x'", '#x', 'x\\', '']) {
    await t.rejects(batch.run(['link', 'set', bad]), TypeError, JSON.stringify(bad));
  }
  t.same(ip.starts(), [], 'not even started');
});

t.test('a stuck ip is killed after the timeout; the next change gets a new one', async (t) => {
  const ip = program(t, 'exec cat > /dev/null');
  const batch = new IpBatch([ip.path], { timeoutMs: 200 });
  t.teardown(() => batch.close());
  const a = batch.run(['link', 'set', 'vif1.0', 'up']);
  const b = batch.run(['link', 'set', 'vif2.0', 'up']);
  await t.rejects(a, { code: 'IpCommandFailed', status: null, stderr: 'ip -batch did not answer within 200 ms' });
  await t.rejects(b, { code: 'IpCommandFailed', argv: [ip.path, 'link', 'set', 'vif2.0', 'up'] });
  await t.rejects(batch.run(['link', 'set', 'vif3.0', 'up']), { code: 'IpCommandFailed', status: null });
  t.equal(ip.starts().length, 2);
});

t.test('an answer for a line never written ends the process rather than being guessed at', async (t) => {
  const ip = program(t, 'read l; echo "Command failed -:7" >&2; exec cat > /dev/null');
  const batch = new IpBatch([ip.path]);
  t.teardown(() => batch.close());
  await t.rejects(batch.run(['link', 'set', 'vif1.0', 'up']), { code: 'IpCommandFailed', status: null, stderr: 'ip -batch reported a failure on line 7, expected line 1' });
});

t.test('an answer when none is due also ends the process; the next change gets a new one', async (t) => {
  const ip = program(t, 'read l; read f; echo "Command failed -:2" >&2; sleep 0.1; echo "Command failed -:5" >&2; exec cat > /dev/null');
  const batch = new IpBatch([ip.path]);
  t.teardown(() => batch.close());
  await batch.run(['link', 'set', 'vif1.0', 'up']);
  await new Promise((r) => setTimeout(r, 300));
  await batch.run(['link', 'set', 'vif1.0', 'up']);
  t.equal(ip.starts().length, 2);
});

t.test('ip exiting with commands in flight: its status and message', async (t) => {
  const ip = program(t, 'echo \'Cannot open network namespace "nope": No such file or directory\' >&2; exit 255');
  const batch = new IpBatch([ip.path, '-n', 'nope']);
  const e = await batch.run(['link', 'set', 'vif1.0', 'up']).catch((e: unknown) => e);
  t.match(e, { code: 'IpCommandFailed', status: 255, stderr: /Cannot open network namespace "nope"/ });
  t.match((e as Error).message, /^\S+ -n nope link set vif1.0 up failed \(status 255\)/);
  const quiet = new IpBatch([program(t, 'exit 4').path]);
  await t.rejects(quiet.run(['link', 'set', 'vif1.0', 'up']), { code: 'IpCommandFailed', status: 4, stderr: 'ip -batch ended (status 4)' });
  await t.rejects(new IpBatch(['/nonexistent/ip']).run(['link', 'set', 'vif1.0', 'up']), IpMissingError);
});

nsTest(t, 'Ip.change: a vif deleted and made again under its name still works', async (t, ns) => {
  // ip -batch keeps the old device's index; the change must not fail for it.
  await ns.vif(1);
  const ip = new Ip('ip', ns.name);
  t.teardown(() => ip.close());
  // `addr` looks the device up by name, and ip -batch keeps what it found.
  await ip.change(['addr', 'replace', '172.20.216.1/32', 'dev', 'vif1.0']);
  await ns.ip('link', 'del', 'vif1.0');
  await ns.vif(1);
  await ip.change(['addr', 'replace', '172.20.216.1/32', 'dev', 'vif1.0']);
  await ip.change(['link', 'set', 'vif1.0', 'up']);
  t.same(await ns.link('vif1.0'), { up: true, inet: ['172.20.216.1/32'] });
  // Again, written all at once as Routes.up does: the retries keep their
  // order, so the route still finds dom0's address in place.
  await ip.change(['addr', 'replace', '172.20.216.1/32', 'dev', 'vif1.0']);
  await ns.ip('link', 'del', 'vif1.0');
  await ns.vif(1);
  await Promise.all([
    ip.change(['addr', 'replace', '172.20.216.1/32', 'dev', 'vif1.0']),
    ip.change(['link', 'set', 'vif1.0', 'up']),
    ip.change(['route', 'replace', '172.20.216.5/32', 'dev', 'vif1.0', 'src', '172.20.216.1']),
  ]);
  t.same(await ns.vifRoutes(), ['172.20.216.5 vif1.0 172.20.216.1 0']);
  // A real failure still fails, with the message of a plain `ip` run.
  await t.rejects(ip.change(['link', 'set', 'vif9.0', 'up']), { code: 'IpCommandFailed', argv: ['ip', '-n', ns.name, 'link', 'set', 'vif9.0', 'up'], stderr: /^Cannot find device "vif9.0"/ });
  await t.rejects(ip.change(['link', 'set', 'vif9.0 up']), TypeError);
});
