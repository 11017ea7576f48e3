// The demo (`npm start`) leaves nothing behind, whatever ends it (issue #22,
// item 1): Ctrl-C, SIGTERM, the terminal closing (SIGHUP, to the demo alone
// and to its whole process group), and npm itself ending (SIGTERM to npm, as
// `kill` sends it; to npm's process group, as `timeout` does; SIGHUP to npm,
// which npm does not forward). Each run is a real process tree: the demo,
// its dbus-daemon, domud in a network namespace. Afterwards no process of it
// is left, the namespace and the /tmp/domud-* folder are gone. Runs the
// built demo (CI builds before it tests, as for test/daemon/bundle.test.ts).
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { PACKAGE_ROOT } from '../../src/dev/sandbox.js';

const DEMO = join(PACKAGE_ROOT, 'dist', 'src', 'dev', 'demo.js');

interface Demo {
  /** What was spawned: the demo itself, or npm; leader of its own process group. */
  leader: ChildProcess;
  demoPid: number;
  dir: string;
  netns: string;
}

/** A process's parent and process group, from /proc; null once it is gone or a zombie. */
function stat(pid: number): { ppid: number; pgrp: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const [state, ppid, pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return state === 'Z' ? null : { ppid: Number(ppid), pgrp: Number(pgrp) };
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Live processes whose command line names `needle` (the demo's folder: its bus and its domud). */
function processesNaming(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== process.pid && cmdline(pid).includes(needle) && stat(pid) !== null);
}

const netnsList = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The start script as package.json has it, without the build (the test runs the built demo). */
function startScript(): string {
  const start = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const ours = start.replace('npm run build --silent', 'true').replace('dist/src/dev/demo.js', DEMO);
  if (ours === start || !ours.includes(DEMO)) throw new Error(`package.json's start script changed shape: ${start}`);
  return ours;
}

async function startDemo(t: Test, viaNpm: boolean, args: string[] = []): Promise<Demo & { out: () => string }> {
  const home = mkdtempSync(join(tmpdir(), 'domud-demo-test-'));
  // Not tap's environment: its loaders in NODE_OPTIONS would follow the demo.
  const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' };
  let leader: ChildProcess;
  if (viaNpm) {
    writeFileSync(join(home, 'package.json'), JSON.stringify({ name: 'demo-test', private: true, scripts: { start: startScript() } }));
    leader = spawn('npm', ['start'], { cwd: home, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    leader = spawn(process.execPath, [DEMO, ...args], { cwd: home, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  let out = '';
  leader.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  leader.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => leader.once('exit', () => r()));
  let dir = '';
  // Whatever a failed test leaves goes here: the group, then anything naming the folder.
  t.teardown(async () => {
    try {
      process.kill(-leader.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    if (dir !== '') {
      for (const pid of processesNaming(dir)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
    const ns = /network namespace (domud-[\w-]+)\./.exec(out)?.[1];
    if (ns && netnsList().includes(ns)) execFileSync('ip', ['netns', 'del', ns]);
    await exited;
    rmSync(home, { recursive: true, force: true });
  });
  await until('the demo to say it is ready', () => {
    if (leader.exitCode !== null) throw new Error(`the demo exited with status ${leader.exitCode}: ${out}`);
    return /removes the bus, the namespace and \/tmp\/domud-\w+\.\n/.test(out);
  });
  dir = /removes the bus, the namespace and (\/tmp\/domud-\w+)\./.exec(out)![1]!;
  const netns = /network namespace (domud-[\w-]+)\./.exec(out)![1]!;
  const demoPid = viaNpm
    ? readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .map(Number)
        .find((pid) => stat(pid)?.pgrp === leader.pid && cmdline(pid).startsWith(`node ${DEMO}`))!
    : leader.pid!;
  return { leader, demoPid, dir, netns, out: () => out };
}

/** Ends the demo with `signal` sent to `target`, then checks that nothing of it is left. */
async function endsClean(t: Test, how: string, viaNpm: boolean, signal: NodeJS.Signals, target: (d: Demo) => number) {
  await t.test(how, async (t) => {
    const d = await startDemo(t, viaNpm);
    t.ok(d.demoPid > 0, `the demo runs (pid ${d.demoPid})`);
    if (viaNpm) t.equal(stat(d.demoPid)?.ppid, d.leader.pid, 'npm runs the demo itself, no shell between them');
    const before = processesNaming(d.dir);
    t.equal(before.length, 2, 'a dbus-daemon and a domud of it run');
    t.match(before.map(cmdline).join('\n'), /dbus-daemon[^\n]*\n[^\n]*domud|domud[^\n]*\n[^\n]*dbus-daemon/);
    t.match(netnsList(), d.netns, 'its network namespace exists');
    t.ok(existsSync(d.dir), 'its folder exists');

    process.kill(target(d), signal);
    const started = Date.now();
    await until('the demo to exit', () => stat(d.demoPid) === null, 30_000).catch(() => undefined);
    t.equal(stat(d.demoPid), null, 'the demo has exited');
    await until('the demo\'s processes to go', () => processesNaming(d.dir).length === 0, 10_000).catch(() => undefined);
    t.same(processesNaming(d.dir).map(cmdline), [], 'no dbus-daemon or domud of it is left');
    t.notMatch(netnsList(), d.netns, 'the namespace is gone');
    t.notOk(existsSync(d.dir), 'the folder is gone');
    t.comment(`${how}: checked ${Date.now() - started} ms after the signal`);
  });
}

const demo = (d: Demo) => d.demoPid;
const group = (d: Demo) => -d.leader.pid!;
const npm = (d: Demo) => d.leader.pid!;

t.test('the demo run directly', async (t) => {
  await endsClean(t, 'SIGINT to the demo', false, 'SIGINT', demo);
  await endsClean(t, 'Ctrl-C: SIGINT to its process group', false, 'SIGINT', group);
  await endsClean(t, 'SIGTERM to the demo', false, 'SIGTERM', demo);
  await endsClean(t, 'SIGHUP to the demo', false, 'SIGHUP', demo);
  await endsClean(t, 'the terminal closes: SIGHUP to its process group', false, 'SIGHUP', group);
});

t.test('the demo run by npm start', async (t) => {
  await endsClean(t, 'SIGTERM to npm', true, 'SIGTERM', npm);
  await endsClean(t, 'timeout: SIGTERM to npm\'s process group', true, 'SIGTERM', group);
  await endsClean(t, 'SIGHUP to npm, which does not forward it', true, 'SIGHUP', npm);
  await endsClean(t, 'npm killed outright', true, 'SIGKILL', npm);
});

t.test('npm start -- --with-image: an image built by the stand-in, and a guest from it', async (t) => {
  const d = await startDemo(t, false, ['--with-image']);
  await until('the image to be ready', () => d.out().includes('The image "demo" is ready.'), 120_000);
  const create = /^ {2}(node \S+ --bus \S+) create web2 --image demo/m.exec(d.out());
  t.ok(create, 'it shows how to make a guest from the image');
  const [node, domuctl, , bus] = create![1]!.split(' ');
  const key = join(d.dir, 'demo-key.pub');
  writeFileSync(key, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxwHZIX/bLFhcJpa3chfXn8RW2PNE2qnC6k6FR4wXSV demo@test\n');
  const env = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
  const made = execFileSync(node!, [domuctl!, '--bus', bus!, 'create', 'web2', '--image', 'demo', '--disk-size', '512M', '--ssh-key', key], { encoding: 'utf8', env });
  t.match(made, /State: running/, 'the guest from the image runs');
  t.match(made, /Address: 172\.20\.216\.\d+/, 'on its leased address');
  const images = execFileSync(node!, [domuctl!, '--bus', bus!, '--json', 'image', 'list'], { encoding: 'utf8', env });
  t.match(JSON.parse(images), [{ name: 'demo', state: 'ready' }]);
  process.kill(d.demoPid, 'SIGINT');
  await until('the demo to exit', () => stat(d.demoPid) === null, 30_000);
  t.notOk(existsSync(d.dir), 'the folder, image and guest disk with it, is gone');
});

t.test('npm start with an unknown option says so and starts nothing', async (t) => {
  const r = spawnSync(process.execPath, [DEMO, '--with-images'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(r.status, 2);
  t.equal(r.stderr, 'npm start: unknown option "--with-images"\nusage: npm start [-- --with-image]\n');
  t.equal(r.stdout, '');
});
