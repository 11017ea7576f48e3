// domuctl's image commands and create --image against the real daemon on a
// private bus, with the debootstrap stand-in (sim/debootstrap-sim): what a
// user sees, the exit statuses, and what is left on disk.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { argv, on, sandbox, startDaemon } from './fixtures/domuctl.js';
import { spawn } from 'node:child_process';

t.setTimeout(600_000);

const MiB = 1024 * 1024;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl admin@example';
const SMALL = ['--suite', 'bookworm', '--mirror', 'http://deb.debian.org/debian', '--size', '64M'];

const s = await sandbox();
t.teardown(() => s.destroy());
await startDaemon(s);
const images = () => readdirSync(join(s.stateDir, 'images')).sort();

t.test('no images yet', async (t) => {
  t.equal((await on(s, ['image', 'list'])).stdout, 'No images.\n');
  t.same(JSON.parse((await on(s, ['--json', 'image', 'list'])).stdout), []);
  const r = await on(s, ['image', 'show', 'base']);
  t.equal(r.code, 3, 'no such image: 3');
  t.match(r.stderr, /^domuctl: .*\(org\.domud\.Domud1\.Error\.NoSuchImage\)\n$/);
  t.equal((await on(s, ['image', 'remove', 'base'])).code, 3);
});

t.test('image create waits for the build, then shows the image', async (t) => {
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_DELAY_MS: '10' });
  const r = await on(s, ['image', 'create', 'base', ...SMALL]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '', 'no bar without a terminal');
  t.match(r.stdout, /^ +Name: base\n +Suite: bookworm\n +State: ready\n +Size: 64 MiB\nCreated: \d{4}-\d\d-\d\dT.*\n +File: \S+\/images\/base\.img\n +Object: \/org\/domud\/Domud1\/image\/base\n$/);
  const list = await on(s, ['image', 'list']);
  t.match(list.stdout, /^NAME +SUITE +STATE +SIZE +CREATED\nbase +bookworm +ready +64 MiB +\d{4}-/);
  t.match(list.stdout, /\n\n1 image listed\.\n$/);
  const j = JSON.parse((await on(s, ['image', 'show', 'base', '--json'])).stdout);
  t.match(j, { name: 'base', suite: 'bookworm', state: 'ready', size: 64 * MiB, file: join(s.stateDir, 'images', 'base.img'), path: '/org/domud/Domud1/image/base' });
  t.ok(j.createdAt > 1_600_000_000_000_000, 'createdAt in µs');
  s.debootstrapEnv({});
});

t.test('bad input: a clear error, nothing built', async (t) => {
  const before = images();
  const again = await on(s, ['image', 'create', 'base', ...SMALL]);
  t.equal(again.code, 4, 'ImageExists: 4');
  t.match(again.stderr, /ImageExists\)\n$/);
  const size = await on(s, ['image', 'create', 'x', '--size', '5X']);
  t.equal(size.code, 2);
  t.equal(size.stderr, 'domuctl: --size: expected a size like 4G, 512M or a number of bytes, got "5X"\n');
  const tiny = await on(s, ['image', 'create', 'x', '--size', '1K']);
  t.equal(tiny.code, 2, `too small is InvalidArgument: ${tiny.stderr}`);
  t.match(tiny.stderr, /InvalidArgument\)\n$/);
  const name = await on(s, ['image', 'create', 'a/b']);
  t.equal(name.code, 2, name.stderr);
  t.same(images(), before, 'nothing was written');
  t.equal((await on(s, ['image'])).code, 2, 'image without a command');
});

t.test('a build that fails: exit 1 with the step, a failed image to remove', async (t) => {
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_FAIL: 'configure' });
  const r = await on(s, ['image', 'create', 'broken', ...SMALL]);
  t.equal(r.code, 1);
  t.match(r.stderr, /^domuctl: building broken failed: .+ \(org\.domud\.Domud1\.Error\.ImageFailed\)\n(  .*\n)+$/, 'the step, the error, then the tail of the output, indented');
  t.match((await on(s, ['image', 'list'])).stdout, /\nbroken +bookworm +failed +/);
  s.debootstrapEnv({});
  const rm = await on(s, ['image', 'remove', 'broken', '--json']);
  t.equal(rm.code, 0, rm.stderr);
  t.same(JSON.parse(rm.stdout), { name: 'broken', removed: true });
  t.notMatch((await on(s, ['image', 'list'])).stdout, /broken/);
});

t.test('--no-wait prints the job and returns; the build goes on', async (t) => {
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_DELAY_MS: '20' });
  const r = await on(s, ['image', 'create', 'later', ...SMALL, '--no-wait']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\/org\/domud\/Domud1\/job\/\d+\n$/);
  const state = async () => JSON.parse((await on(s, ['image', 'show', 'later', '--json'])).stdout).state as string;
  t.equal(await state(), 'building');
  const busy = await on(s, ['image', 'remove', 'later']);
  t.equal(busy.code, 10, 'ImageBusy while it builds: 10');
  for (let i = 0; i < 600 && (await state()) === 'building'; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(await state(), 'ready');
  t.equal((await on(s, ['image', 'remove', 'later'])).code, 0);
  s.debootstrapEnv({});
});

t.test('Ctrl-C cancels the build and removes what it made', async (t) => {
  s.debootstrapEnv({ DEBOOTSTRAP_SIM_HANG: 'configure' });
  const before = images();
  const child = spawn(process.execPath, argv(['--bus', s.address, 'image', 'create', 'slow', ...SMALL]), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const building = async () => (await on(s, ['image', 'show', 'slow', '--json'])).code === 0;
  for (let i = 0; i < 300 && !(await building()); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(await building(), 'the build is under way');
  child.kill('SIGINT');
  t.equal(await exit, 1, `it ends with 1: ${err}`);
  t.match(err, /^domuctl: building slow failed: .*cancel.* \(org\.domud\.Domud1\.Error\.Cancelled\)\n$/i);
  t.equal((await on(s, ['image', 'show', 'slow'])).code, 3, 'the image is gone');
  t.same(images(), before, 'and nothing of it is left');
  s.debootstrapEnv({});
});

t.test('create --image --disk-size --ssh-key: a guest with its own copy', async (t) => {
  const keyFile = join(s.dir, 'id.pub');
  writeFileSync(keyFile, `# mine\n${KEY}\n\n`);
  const two = join(s.dir, 'two.pub');
  writeFileSync(two, `${KEY}\n${KEY}\n`);
  const disk = join(s.stateDir, 'disks', 'web1.img');
  const r = await on(s, ['create', 'web1', '--image', 'base', '--disk-size', '128M', '--ssh-key', keyFile, '--json']);
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { name: 'web1', state: /^(running|blocked)$/ });
  t.ok(existsSync(disk), 'its own copy');
  t.match(readFileSync(join(s.stateDir, 'domains', 'web1.cfg'), 'utf8'), /^bootloader = "pygrub"$/m);

  const many = await on(s, ['create', 'web2', '--image', 'base', '--ssh-key', two]);
  t.equal(many.code, 2);
  t.equal(many.stderr, `domuctl: --ssh-key: ${two} holds 2 keys; give a file with one (e.g. ~/.ssh/id_ed25519.pub)\n`);
  const none = await on(s, ['create', 'web2', '--image', 'base', '--ssh-key', join(s.dir, 'nope.pub')]);
  t.equal(none.code, 2);
  t.match(none.stderr, /--ssh-key: cannot read \S+nope\.pub: no such file/);
  const noImage = await on(s, ['create', 'web2', '--image', 'nosuch']);
  t.equal(noImage.code, 3, `NoSuchImage: 3 (${noImage.stderr.trim()})`);
  const small = await on(s, ['create', 'web2', '--image', 'base', '--disk-size', '1M']);
  t.equal(small.code, 2, `a disk smaller than the image: ${small.stderr.trim()}`);
  t.equal((await on(s, ['show', 'web2'])).code, 3, 'none of them made web2');

  t.equal((await on(s, ['destroy', 'web1'])).code, 0);
  t.notOk(existsSync(disk), 'destroy removes the copy');
});
