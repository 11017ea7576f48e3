// Images and jobs end to end: the daemon on a real bus, CreateImage running
// sim/debootstrap-sim (the sandbox's [Images] Debootstrap=), watched through
// the signals a client subscribes to and read back with busctl.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readFile } from '../../../src/image/index.js';
import { startSandbox } from '../../support/daemon.js';
import { CallError, Client, MANAGER, NAME, OM, PROPS, errorOf, eventually, variant, type Seen } from './fixtures/client.js';

const MiB = 1024 * 1024;
const IMAGE = 'org.domud.Domud1.Image';
const JOB = 'org.domud.Domud1.Job';
const E = 'org.domud.Domud1.Error.';
const M = [NAME, MANAGER, 'org.domud.Domud1.Manager'];
const small = (more: Record<string, unknown> = {}) => ({
  suite: variant('s', 'bookworm'),
  mirror: variant('s', 'http://deb.debian.org/debian'),
  size: variant('t', BigInt(64 * MiB)),
  ...more,
});

const s = await startSandbox(t, {});
const c = await Client.connect(t, s.address);
await c.subscribeAll();
const imagesDir = join(s.stateDir, 'images');
const listing = () => readdirSync(imagesDir).sort();
const busctlJson = async (...args: string[]) => {
  const r = await s.busctl(['--json=short', ...args]);
  if (r.code !== 0) throw new Error(`busctl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { type: string; data: any };
};

/** Waits for the job's Completed signal and the removal of its object. */
async function completion(job: string): Promise<{ done: Seen; removed: Seen }> {
  const done = await c.waitFor((x) => x.path === job && x.member === 'Completed', 60_000);
  const removed = await c.waitFor((x) => x.member === 'InterfacesRemoved' && x.body[0] === job, 10_000);
  return { done, removed };
}

t.test('CreateImage: a job whose progress goes 0 to 1, then a ready image', async (t) => {
  // Slow enough for several progress steps, so the rate limit shows.
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_DELAY_MS: '25' });
  const from = c.seen.length;
  const began = Date.now();
  const [job] = await c.manager('CreateImage', 'sa{sv}', ['base', small()]);
  t.match(job, /^\/org\/domud\/Domud1\/job\/[0-9]+$/);
  const path = '/org/domud/Domud1/image/base';
  t.same((await c.waitFor((x) => x.member === 'ImageNew', 5_000, from)).body, ['base', path]);
  const added = await c.waitFor((x) => x.member === 'InterfacesAdded' && x.body[0] === path, 5_000, from);
  t.equal(added.body[1][IMAGE].State.value, 'building', 'InterfacesAdded for the image, building');
  const jobAdded = await c.waitFor((x) => x.member === 'InterfacesAdded' && x.body[0] === job, 5_000, from);
  t.same(jobAdded.body[1][JOB].Objects.value, [path], 'InterfacesAdded for the job, with its objects');
  t.equal(await c.prop(path, IMAGE, 'State'), 'building', 'the image exists at once, building');
  const jp = await c.props(job, JOB);
  t.match(jp, { Operation: 'create-image', Objects: [path], Cancelable: true, StartedByUID: 0 });
  t.ok((jp.StartedAt as bigint) > 1_600_000_000_000_000n, 'StartedAt in µs');
  const [objects] = await c.call(MANAGER, OM, 'GetManagedObjects');
  t.ok(objects[path]?.[IMAGE] && objects[job]?.[JOB], 'ObjectManager has the image and the job');
  const { done, removed } = await completion(job);
  const ms = Date.now() - began;
  t.same(done.body, [true, ''], 'Completed(true, "")');
  t.ok(removed.at >= done.at, 'the job object goes after Completed');
  t.equal(await errorOf(c.prop(job, JOB, 'Progress')), 'org.freedesktop.DBus.Error.UnknownObject', 'and is gone');

  const progress = c.seen
    .slice(from)
    .filter((x) => x.path === job && x.member === 'PropertiesChanged' && x.body[1].Progress)
    .map((x) => ({ at: x.at, v: x.body[1].Progress.value as number }));
  t.ok(progress.length >= 3, `several progress steps (${progress.length})`);
  t.same(
    progress.map((p) => p.v),
    [...progress.map((p) => p.v)].sort((a, b) => a - b),
    'never down',
  );
  t.ok(progress[0]!.v < 0.5, `starts low (${progress[0]!.v})`);
  t.equal(progress.at(-1)!.v, 1, 'ends at 1');
  t.ok(progress.length <= ms / 250 + 3, `at most about four a second: ${progress.length} in ${ms} ms`);

  const changed = await c.waitFor((x) => x.path === path && x.member === 'PropertiesChanged' && x.body[1].State?.value === 'ready', 5_000, from);
  t.equal(changed.body[0], IMAGE);
  // Read back through busctl, as any client would.
  const rows = (await busctlJson('call', ...M, 'ListImages')).data[0] as Array<[string, string, string, number, number, string]>;
  t.equal(rows.length, 1);
  t.same([rows[0]![0], rows[0]![1], rows[0]![2], rows[0]![3], rows[0]![5]], ['base', 'bookworm', 'ready', 64 * MiB, path]);
  t.ok(rows[0]![4] > 1_600_000_000_000_000, 'CreatedAt in µs');
  t.same((await busctlJson('call', ...M, 'GetImage', 's', 'base')).data, [path]);
  const props = (await busctlJson('call', NAME, path, PROPS, 'GetAll', 's', IMAGE)).data[0] as Record<string, { data: unknown }>;
  t.same(
    Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.data])),
    { Name: 'base', Suite: 'bookworm', State: 'ready', Size: 64 * MiB, CreatedAt: rows[0]![4], Path: join(imagesDir, 'base.img') },
  );
  t.same(listing(), ['base.img'], 'one image file, no build left');
  t.match((await busctlJson('call', NAME, '/org/domud/Domud1/image', 'org.freedesktop.DBus.Introspectable', 'Introspect')).data[0], /<node name="base"\/>/);
  s.debootstrapEnv({});
});

t.test('bad input: the contract\'s errors, and nothing changes', async (t) => {
  const before = { list: await c.manager('ListImages'), files: listing() };
  const err = (name: string, options: Record<string, unknown>) => errorOf(c.manager('CreateImage', 'sa{sv}', [name, options]));
  t.equal(await err('base', small()), `${E}ImageExists`);
  t.equal(await err('new', small({ colour: variant('s', 'red') })), `${E}InvalidArgument`, 'an unknown key');
  t.equal(await err('new', { size: variant('u', 64 * MiB) }), `${E}InvalidArgument`, 'a wrong type');
  t.equal(await err('new', { packages: variant('s', 'vim') }), `${E}InvalidArgument`, 'a wrong type (as)');
  t.equal(await err('new', small({ suite: variant('s', 'Bad Suite') })), `${E}InvalidArgument`, 'a bad suite');
  t.equal(await err('new', small({ mirror: variant('s', 'ftp://x') })), `${E}InvalidArgument`, 'a bad mirror');
  t.equal(await err('new', small({ size: variant('t', 1000n) })), `${E}InvalidArgument`, 'too small');
  t.equal(await err('new', small({ packages: variant('as', ['ok', 'Bad;rm']) })), `${E}InvalidArgument`, 'a bad package name');
  t.equal(await err('bad/name', small()), `${E}InvalidName`);
  t.equal(await err('-x', small()), `${E}InvalidName`);
  t.equal(await errorOf(c.manager('GetImage', 's', ['nosuch'])), `${E}NoSuchImage`);
  t.equal(await errorOf(c.manager('RemoveImage', 's', ['nosuch'])), `${E}NoSuchImage`);
  t.equal(await errorOf(c.manager('CreateImage', 'su', ['x', 1])), 'org.freedesktop.DBus.Error.InvalidArgs');
  const e = await c.manager('CreateImage', 'sa{sv}', ['new', small({ colour: variant('s', 'red') })]).catch((x: CallError) => x);
  t.match((e as CallError).message, /Unknown option "colour"; known options: suite, mirror, size, packages/);
  t.same({ list: await c.manager('ListImages'), files: listing() }, before);
});

t.test('a failing debootstrap: ImageFailed naming the step, a failed image until removed', async (t) => {
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_FAIL: 'release' });
  const [job] = await c.manager('CreateImage', 'sa{sv}', ['broken', small()]);
  const { done } = await completion(job);
  t.equal(done.body[0], false);
  t.match(done.body[1], new RegExp(`^${E}ImageFailed: debootstrap failed: exit status 1\\n`));
  t.match(done.body[1], /Failed getting release file/, 'with the last lines of its output');
  const path = '/org/domud/Domud1/image/broken';
  t.equal(await c.prop(path, IMAGE, 'State'), 'failed');
  const [rows] = await c.manager('ListImages');
  t.same(rows.map((r: unknown[]) => [r[0], r[2]]), [['base', 'ready'], ['broken', 'failed']]);
  t.equal(await errorOf(c.manager('CreateImage', 'sa{sv}', ['broken', small()])), `${E}ImageExists`, 'the name stays taken');
  t.equal(await errorOf(c.manager('CreateDomain', 'sa{sv}', ['g', { image: variant('s', 'broken') }])), `${E}ImageFailed`);
  t.same(listing(), ['base.img'], 'no file, no build directory');
  const from = c.seen.length;
  await c.call(path, IMAGE, 'Remove');
  t.same((await c.waitFor((x) => x.member === 'ImageRemoved', 5_000, from)).body, ['broken', path]);
  await c.waitFor((x) => x.member === 'InterfacesRemoved' && x.body[0] === path, 5_000, from);
  t.equal(await errorOf(c.manager('GetImage', 's', ['broken'])), `${E}NoSuchImage`);
  s.debootstrapEnv({});
});

t.test('Cancel: everything the job made goes, Completed(false) with Cancelled', async (t) => {
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_HANG: 'base', DEBOOTSTRAP_SIM_IGNORE_TERM: '1' });
  const [job] = await c.manager('CreateImage', 'sa{sv}', ['slow', small()]);
  // Hung in the base phase, with a child: the build directory is there.
  await eventually(async () => (await c.prop(job, JOB, 'Progress')) as number > 0.6, 30_000, 'the build to reach the base phase');
  t.ok(listing().includes('.slow.build'), 'the build directory exists while it builds');
  t.equal(await errorOf(c.manager('RemoveImage', 's', ['slow'])), `${E}ImageBusy`, 'RemoveImage while it builds');
  t.equal(await errorOf(c.call('/org/domud/Domud1/image/slow', IMAGE, 'Remove')), `${E}ImageBusy`, 'and Image.Remove');
  t.equal(await errorOf(c.manager('CreateDomain', 'sa{sv}', ['g', { image: variant('s', 'slow') }])), `${E}ImageBusy`, 'no guest from it yet');
  const from = c.seen.length;
  await c.call(job, JOB, 'Cancel');
  const { done } = await completion(job);
  t.equal(done.body[0], false);
  t.match(done.body[1], new RegExp(`^${E}Cancelled: cancelled during debootstrap`));
  t.same((await c.waitFor((x) => x.member === 'ImageRemoved', 5_000, from)).body, ['slow', '/org/domud/Domud1/image/slow']);
  t.same(listing(), ['base.img'], 'no build directory left');
  t.equal(await errorOf(c.manager('GetImage', 's', ['slow'])), `${E}NoSuchImage`);
  const left = await s.exec('pgrep', ['-f', join(imagesDir, '.slow.build')]);
  t.equal(left.stdout.trim(), '', 'no debootstrap (nor its child) left, though it ignored SIGTERM');
  s.debootstrapEnv({});
});

t.test('guests from an image: their own copy, pygrub, gone with DestroyDomain only', async (t) => {
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example';
  const disk = join(s.stateDir, 'disks', 'web.img');
  const [dpath] = await c.manager('CreateDomain', 'sa{sv}', ['web', { image: variant('s', 'base'), disk_size: variant('t', BigInt(128 * MiB)), ssh_key: variant('s', KEY) }]);
  t.equal(dpath, '/org/domud/Domud1/domain/web');
  t.ok(existsSync(disk), 'the guest\'s copy');
  t.equal(statSync(disk).size, 128 * MiB, 'grown to disk_size');
  const cfg = readFileSync(join(s.stateDir, 'domains', 'web.cfg'), 'utf8');
  t.match(cfg, /^bootloader = "pygrub"$/m);
  t.match(cfg, `disk = [ "format=raw, vdev=xvda, access=rw, target=${disk}" ]`);
  t.equal(await readFile(disk, '/etc/hostname'), 'web\n', 'its hostname written in');
  t.match(await readFile(disk, '/etc/systemd/network/50-domud-eth0.network'), /Address=172\.20\.216\.2\/24\nGateway=172\.20\.216\.1\n/);
  t.equal(await readFile(disk, '/root/.ssh/authorized_keys'), `${KEY}\n`);
  t.match(await c.prop(dpath, 'org.domud.Domud1.Domain', 'State'), /^(running|blocked)$/, 'the simulator booted it through the bootloader');

  await c.manager('ShutdownDomain', 'sa{sv}', ['web', { wait: variant('b', true) }]);
  t.ok(existsSync(disk), 'ShutdownDomain keeps the copy');
  await c.manager('StartDomain', 's', ['web']);
  t.match(await c.prop(dpath, 'org.domud.Domud1.Domain', 'State'), /^(running|blocked)$/, 'and starts again from it');
  // The image is the guest's no more: removing it leaves the copy.
  await c.manager('DestroyDomain', 's', ['web']);
  t.notOk(existsSync(disk), 'DestroyDomain removes the copy');
});

t.test('guests from an image: bad combinations are InvalidArgument and change nothing', async (t) => {
  const leases = await c.manager('ListLeases');
  const disks = () => readdirSync(join(s.stateDir, 'disks'));
  const err = (name: string, o: Record<string, unknown>) => errorOf(c.manager('CreateDomain', 'sa{sv}', [name, o]));
  const image = variant('s', 'base');
  t.equal(await err('g', { image, kernel: variant('s', '/boot/vmlinuz') }), `${E}InvalidArgument`);
  t.equal(await err('g', { image, ramdisk: variant('s', '/boot/initrd') }), `${E}InvalidArgument`);
  t.equal(await err('g', { image, root: variant('s', '/dev/xvda1 ro') }), `${E}InvalidArgument`);
  t.equal(await err('g', { disk_size: variant('t', BigInt(128 * MiB)) }), `${E}InvalidArgument`, 'disk_size without image');
  t.equal(await err('g', { ssh_key: variant('s', 'ssh-ed25519 AAAA') }), `${E}InvalidArgument`, 'ssh_key without image');
  t.equal(await err('g', { image, disk_size: variant('t', BigInt(MiB)) }), `${E}InvalidArgument`, 'smaller than the image');
  t.equal(await err('g', { image, disk_size: variant('u', 128) }), `${E}InvalidArgument`, 'disk_size of the wrong type');
  t.equal(await err('g', { image, ssh_key: variant('s', 'command="sh" ssh-ed25519 AAAA') }), `${E}InvalidArgument`, 'a key with options');
  t.equal(await err('g_1', { image }), `${E}InvalidArgument`, 'a name that is no host name');
  t.equal(await err('g', { image: variant('s', 'nosuch') }), `${E}NoSuchImage`);
  t.same(await c.manager('ListLeases'), leases, 'nothing leased');
  t.same(disks(), [], 'no copy');
});

t.test('RemoveImage: the file goes, the signals say so', async (t) => {
  const from = c.seen.length;
  await c.manager('RemoveImage', 's', ['base']);
  t.same((await c.waitFor((x) => x.member === 'ImageRemoved', 5_000, from)).body, ['base', '/org/domud/Domud1/image/base']);
  t.same(listing(), []);
  t.same(await c.manager('ListImages'), [[]]);
});

t.test('with xm: the file: disk line, and the simulator boots it through the bootloader', async (t) => {
  const x = await startSandbox(t, { flavour: 'xm' });
  const xc = await Client.connect(t, x.address);
  await xc.subscribeAll();
  const [job] = await xc.manager('CreateImage', 'sa{sv}', ['base', small()]);
  t.same((await xc.waitFor((m) => m.path === job && m.member === 'Completed', 60_000)).body, [true, '']);
  const [dpath] = await xc.manager('CreateDomain', 'sa{sv}', ['web', { image: variant('s', 'base') }]);
  const disk = join(x.stateDir, 'disks', 'web.img');
  const cfg = readFileSync(join(x.stateDir, 'domains', 'web.cfg'), 'utf8');
  t.match(cfg, /^bootloader = "pygrub"$/m);
  t.match(cfg, `disk = [ "file:${disk},xvda,w" ]`);
  t.match(await xc.prop(dpath, 'org.domud.Domud1.Domain', 'State'), /^(running|blocked)$/);
  await xc.manager('DestroyDomain', 's', ['web']);
  t.notOk(existsSync(disk));
  t.equal(await x.stopDaemon('SIGTERM'), 0);
});

t.test('SIGTERM during a build: the job is cancelled and cleaned up, exit 0; a restart reads the ready images back', async (t) => {
  const [first] = await c.manager('CreateImage', 'sa{sv}', ['kept', small({ suite: variant('s', 'trixie') })]);
  t.same((await c.waitFor((x) => x.path === first && x.member === 'Completed', 60_000)).body, [true, '']);
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_HANG: 'base' });
  const [job] = await c.manager('CreateImage', 'sa{sv}', ['late', small()]);
  await eventually(async () => (await c.prop(job, JOB, 'Progress')) as number > 0.6, 30_000, 'the build to hang in its base phase');
  const from = c.seen.length;
  t.equal(await s.stopDaemon('SIGTERM'), 0, 'exit 0');
  const done = await c.waitFor((x) => x.path === job && x.member === 'Completed', 5_000, from);
  t.match(done.body, [false, /Cancelled/], 'Completed went out before the daemon left');
  t.same(listing(), ['kept.img'], 'no build directory');
  t.equal((await s.exec('pgrep', ['-f', join(imagesDir, '.late.build')])).stdout.trim(), '', 'no debootstrap left');
  s.debootstrapEnv({});
  // What a SIGKILLed daemon leaves under KillMode=process: a build directory
  // with a process of the build still working in it, in a group of its own.
  const stray = join(imagesDir, '.stray.build');
  mkdirSync(join(stray, 'root'), { recursive: true });
  const straggler = spawn('python3', ['-c', 'import time; time.sleep(600)', join(stray, 'root')], { detached: true, stdio: 'ignore' });
  t.teardown(() => {
    if (straggler.exitCode === null && straggler.signalCode === null) straggler.kill('SIGKILL');
  });
  const ended = new Promise((r) => straggler.once('exit', (_code, signal) => r(signal)));
  await s.startDaemon();
  t.equal(await ended, 'SIGKILL', 'start-up ended the killed build\'s process');
  t.same(listing(), ['kept.img'], 'and removed its directory');
  const again = await Client.connect(t, s.address);
  const [rows] = await again.manager('ListImages');
  t.same(rows.map((r: unknown[]) => [r[0], r[1], r[2], Number(r[3])]), [['kept', 'trixie', 'ready', 64 * MiB]], 'the suite read back from the image');
  // A clean stop, so that this daemon's coverage is written (SIGKILL at teardown loses it).
  t.equal(await s.stopDaemon('SIGTERM'), 0);
});
