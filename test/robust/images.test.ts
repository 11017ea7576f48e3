// Images under the slow faults (issue #23): the daemon SIGKILLed in the
// middle of a build, then restarted, shows no `building` image and leaves
// nothing behind (build directory, mounts, clone temporaries); and a full
// image or disk directory fails the build or the guest cleanly, with
// NoSpace, leaving the disk as it was.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Client, eventually, variant } from '../daemon/bus/fixtures/client.js';
import { FILLER_NAME, tmpfs } from '../support/tmpfs.js';
import { mountsBelow, processesWith } from '../image/support.js';
import { E, builtEntry, dbRows, sandbox } from './support.js';
import { Sandbox as SandboxClass } from '../../src/dev/sandbox.js';

const MiB = 1024 * 1024;
const small = (name = 'bookworm') => ({ suite: variant('s', name), mirror: variant('s', 'http://deb.debian.org/debian'), size: variant('t', BigInt(64 * MiB)) });

const files = (dir: string) => readdirSync(dir).filter((f) => f !== FILLER_NAME).sort();

async function build(c: Client, name: string): Promise<unknown[]> {
  const [job] = await c.manager('CreateImage', 'sa{sv}', [name, small()]);
  return (await c.waitFor((x) => x.path === job && x.member === 'Completed', 60_000)).body;
}

t.test('kill -9 during a build, then a restart: no building image, nothing left', async (t) => {
  // In our own mount namespace (no `ip netns exec`, which gives the daemon
  // one of its own), so that the test sees the mounts the build makes.
  const s = await sandbox(t, { netns: false });
  let c = await Client.connect(t, s.address);
  await c.subscribeAll();
  t.same(await build(c, 'kept'), [true, ''], 'a ready image to keep');
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_FAIL: 'release' });
  t.match(await build(c, 'broken'), [false, /ImageFailed/], 'and a failed one, which a restart forgets');

  // A build hung in debootstrap's base phase, with /proc of its target
  // mounted, as a real debootstrap has it while installing.
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_HANG: 'base', DEBOOTSTRAP_SIM_MOUNT: '1' });
  const [job] = await c.manager('CreateImage', 'sa{sv}', ['doomed', small()]);
  const buildDir = join(s.stateDir, 'images', '.doomed.build');
  // Should the test fail before the restart ends them: the build's processes, by pid.
  t.teardown(() => {
    for (const pid of processesWith(buildDir)) process.kill(pid, 'SIGKILL');
  });
  for (let i = 0; mountsBelow(buildDir).length === 0; i++) {
    if (i > 600) throw new Error('the build never mounted its /proc');
    await new Promise((r) => setTimeout(r, 50));
  }
  // The daemon reads debootstrap's lines a moment after they are written.
  t.ok(await eventually(async () => ((await c.prop(job, 'org.domud.Domud1.Job', 'Progress')) as number) > 0, 10_000, 'progress'), 'under way');
  // A guest's copy cut short leaves its temporary too.
  writeFileSync(join(s.stateDir, 'disks', '.web.img.clone-0123456789ab'), 'half a copy');
  await s.stopDaemon('SIGKILL');
  // As under the unit's KillMode=process, debootstrap (and its child) live on.
  const stragglers = processesWith(buildDir);
  t.ok(stragglers.length >= 2, `the killed daemon's debootstrap and its child live on (${stragglers.join(' ')})`);
  t.ok(mountsBelow(buildDir).length > 0, 'the killed build left its mount');
  s.debootstrapEnv({});

  await s.startDaemon();
  c = await Client.connect(t, s.address);
  await c.subscribeAll();
  const [rows] = await c.manager('ListImages');
  t.same(rows.map((r: unknown[]) => [r[0], r[1], r[2]]), [['kept', 'bookworm', 'ready']], 'the ready image, with its suite read back; nothing building, the failed one forgotten (it left no file)');
  t.same(files(join(s.stateDir, 'images')), ['kept.img'], 'no build directory');
  t.same(mountsBelow(s.stateDir), [], 'nothing mounted');
  t.same(processesWith(buildDir), [], 'the restarted daemon ended the build\'s processes before removing its directory');
  t.same(files(join(s.stateDir, 'disks')), [], 'no clone temporary');
  t.match(readFileSync(s.logPath, 'utf8'), /removed what a killed build or clone left/);
  t.same(await build(c, 'doomed'), [true, ''], 'the name can be built again');
});

/** A sandbox whose `sub` (relative to the state directory) is a tmpfs of `size`, mounted before domud starts. */
async function onTmpfs(t: { teardown(fn: () => unknown): void }, sub: string, size: string) {
  const s = await SandboxClass.create({ entry: builtEntry(), nodeArgs: [] });
  let fs: ReturnType<typeof tmpfs> | undefined;
  t.teardown(async () => {
    await s.stopDaemon('SIGTERM');
    fs?.unmount();
    await s.destroy();
  });
  fs = tmpfs(t, `size=${size}`, join(s.stateDir, sub));
  await s.startDaemon();
  const c = await Client.connect(t, s.address);
  await c.subscribeAll();
  return { s, fs, c };
}

t.test('a full image directory: the build fails with NoSpace and leaves the disk as it was', async (t) => {
  const { s, fs, c } = await onTmpfs(t, 'images', '8m');
  const dir = join(s.stateDir, 'images');
  // debootstrap writes more than the directory holds.
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_FILL: String(16 * MiB) });
  const done = await build(c, 'big');
  t.equal(done[0], false);
  t.match(done[1], `${E}NoSpace: no space left in ${dir}`, `NoSpace naming the directory: ${done[1]}`);
  t.equal(await c.prop('/org/domud/Domud1/image/big', 'org.domud.Domud1.Image', 'State'), 'failed');
  t.same(files(dir), [], 'no build directory, no file');
  const { statfsSync } = await import('node:fs');
  const st = statfsSync(dir);
  t.ok(st.bfree * st.bsize > 7 * MiB, 'the space is free again');
  await c.manager('RemoveImage', 's', ['big']);

  // Full before it starts: NoSpace at once.
  s.debootstrapEnv({});
  fs.fill();
  const full = await build(c, 'other');
  t.match(full, [false, new RegExp(`^${E}NoSpace:`)]);
  fs.free();
  t.same(await build(c, 'fits'), [true, ''], 'with space back the same build works');
});

t.test('a full disks directory: CreateDomain from an image is NoSpace and changes nothing', async (t) => {
  const { s, fs, c } = await onTmpfs(t, 'disks', '2m');
  t.same(await build(c, 'base'), [true, ''], 'an image, on the roomy state directory');
  fs.fill();
  const before = { leases: await c.manager('ListLeases'), rows: dbRows(s.stateDir), disks: files(fs.dir) };
  const err = await c.manager('CreateDomain', 'sa{sv}', ['web', { image: variant('s', 'base') }]).then(
    () => null,
    (e: { errorName: string; message: string }) => e,
  );
  t.equal(err?.errorName, `${E}NoSpace`);
  t.match(err?.message, `no space left in ${fs.dir}`, `names the directory: ${err?.message}`);
  t.same({ leases: await c.manager('ListLeases'), rows: dbRows(s.stateDir), disks: files(fs.dir) }, before, 'no lease, no copy, no temporary');
  t.same(await c.manager('ListDomains'), [[]]);
  fs.free();
  await c.manager('CreateDomain', 'sa{sv}', ['web', { image: variant('s', 'base') }]);
  t.same(files(fs.dir), ['web.img'], 'with space back the same call works');
});
