// The image model on in-memory image tools (image-fakes.ts): CreateImage's
// record and job, what a failure and a cancel leave, removal rules, the
// guests' copies, and start-up. Milliseconds each; the real src/image runs
// in test/image/ and through the daemon in test/daemon/bus/images.test.ts.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { bytes } from '../../../src/daemon/model/images.js';
import { failure, imageRig } from './image-fakes.js';

const tick = () => new Promise((r) => setImmediate(r));
const MiB = 1024 * 1024;

t.test('create: known at once as building, a job, then ready', async (t) => {
  const { images, tools, jobs, dir } = await imageRig(t);
  t.equal(statSync(join(dir, 'images')).mode & 0o777, 0o755, 'the image directory, 0755');
  t.same(tools.calls, ['leftovers 2'], 'start-up removed leftovers in both directories');
  const seen: string[] = [];
  images.on('imageNew', (i) => seen.push(`new ${i.name} ${i.state}`));
  images.on('imageChanged', (i) => seen.push(`changed ${i.name} ${i.state}`));
  const done: boolean[] = [];
  jobs.on('jobCompleted', (_j, ok) => done.push(ok));
  const job = images.create('base', { suite: 'bookworm', size: BigInt(64 * MiB) }, 1000);
  t.match(job, { operation: 'create-image', objects: [{ kind: 'image', name: 'base' }], startedByUid: 1000 });
  t.match(images.get('base'), { name: 'base', suite: 'bookworm', state: 'building', size: 64 * MiB, path: join(dir, 'images', 'base.img') });
  t.same(seen, ['new base building']);
  await tick();
  const b = tools.builds.get('base')!;
  t.match(b.o, { name: 'base', suite: 'bookworm', size: 64 * MiB, debootstrap: 'debootstrap' });
  b.o.onProgress?.({ phase: 'download', fraction: 0.3, message: 'I: Validating' });
  t.equal(job.progress, 0.3, 'the build\'s progress is the job\'s');
  b.succeed();
  await tick();
  await tick();
  t.match(images.get('base'), { state: 'ready', size: 64 * MiB, createdAt: 1_700_000_000_000_000 });
  t.same(seen, ['new base building', 'changed base ready']);
  t.same(done, [true]);
  t.same(images.list().map((i) => i.name), ['base']);
});

t.test('create: bad input changes nothing', async (t) => {
  const { images, tools, dir } = await imageRig(t);
  t.throws(() => images.create('bad/name', {}, 0), { code: 'InvalidName' });
  t.throws(() => images.create('-x', {}, 0), { code: 'InvalidName' });
  t.throws(() => images.create('a', { suite: 'Bad!' }, 0), { code: 'InvalidArgument' });
  t.throws(() => images.create('a', { size: 1000 }, 0), { code: 'InvalidArgument' });
  t.throws(() => images.create('a', { size: 2n ** 60n }, 0), { code: 'InvalidArgument' });
  t.same(images.list(), []);
  t.same(tools.calls, ['leftovers 2']);
  images.create('a', { size: 64 * MiB }, 0);
  t.throws(() => images.create('a', {}, 0), { code: 'ImageExists' });
  writeFileSync(join(dir, 'images', 'stray.img'), '');
  t.throws(() => images.create('stray', {}, 0), { code: 'ImageExists' }, 'a file put there behind domud\'s back');
  t.equal(bytes('x', 5n), 5);
});

t.test('a failed build: a failed record, kept until removed', async (t) => {
  const { images, tools, jobs } = await imageRig(t);
  const done: Array<[boolean, string]> = [];
  jobs.on('jobCompleted', (_j, ok, e) => done.push([ok, (e as Error).message]));
  images.create('base', { size: 64 * MiB }, 0);
  await tick();
  tools.builds.get('base')!.fail(failure('debootstrap'));
  await tick();
  await tick();
  t.match(images.get('base'), { state: 'failed', error: /debootstrap failed: exit status 1\nE: Failed getting release file/ });
  t.match(done, [[false, /debootstrap failed/]]);
  t.throws(() => images.create('base', {}, 0), { code: 'ImageExists' }, 'the name stays taken');
  t.throws(() => images.source('base'), { code: 'ImageFailed', message: /failed to build.*Failed getting release file/s });
  const removed: string[] = [];
  images.on('imageRemoved', (n) => removed.push(n));
  images.remove('base');
  t.same(removed, ['base']);
  t.equal(images.find('base'), undefined);
  t.notOk(tools.calls.includes('remove base'), 'a failed image has no file to remove');
});

t.test('cancel: the record goes with what the build made', async (t) => {
  const { images, tools, jobs } = await imageRig(t);
  const removed: string[] = [];
  images.on('imageRemoved', (n) => removed.push(n));
  const done: Array<[boolean, string]> = [];
  jobs.on('jobCompleted', (_j, ok, e) => done.push([ok, (e as { code: string }).code]));
  const job = images.create('base', { size: 64 * MiB }, 0);
  await tick();
  t.throws(() => images.remove('base'), { code: 'ImageBusy', message: /cancel its job/ });
  t.throws(() => images.source('base'), { code: 'ImageBusy' });
  job.cancel();
  await tick();
  await tick();
  t.same(done, [[false, 'Cancelled']]);
  t.same(removed, ['base']);
  t.same(images.list(), []);
});

t.test('remove: a ready image, its file; unknown names', async (t) => {
  const { images, tools } = await imageRig(t);
  images.create('base', { size: 64 * MiB }, 0);
  await tick();
  tools.builds.get('base')!.succeed();
  await tick();
  await tick();
  images.remove('base');
  t.ok(tools.calls.includes('remove base'));
  t.throws(() => images.remove('base'), { code: 'NoSuchImage' });
  t.throws(() => images.get('no/such'), { code: 'InvalidName' });
});

t.test('start-up reads the ready images with their suite', async (t) => {
  const { tools, images } = await imageRig(t);
  tools.ready.set('old', 128 * MiB);
  await images.load();
  t.match(images.get('old'), { state: 'ready', suite: 'trixie', size: 128 * MiB });
});

t.test('guests\' copies: from ready images only, busy while copied, removed by name', async (t) => {
  const { images, tools, disksDir } = await imageRig(t);
  tools.ready.set('base', 64 * MiB);
  await images.load();
  t.throws(() => images.source('none'), { code: 'NoSuchImage' });
  t.same(images.source('base'), { path: images.get('base').path, size: 64 * MiB });
  const copying = images.clone('base', { domain: 'web', hostname: 'web', address: '10.9.0.2', prefix: 24, gateway: '10.9.0.1', diskSize: 128 * MiB });
  t.throws(() => images.remove('base'), { code: 'ImageBusy', message: /being copied/ });
  await copying;
  t.match(tools.clones[0], { image: images.get('base').path, target: join(disksDir, 'web.img'), hostname: 'web', diskSize: 128 * MiB });
  t.ok(existsSync(join(disksDir, 'web.img')));
  await t.rejects(images.clone('base', { domain: 'x', hostname: 'x', address: '10.9.0.3', prefix: 24, gateway: '10.9.0.1', diskSize: MiB }), { code: 'InvalidArgument' }, 'a disk smaller than the image');
  images.removeDisk('web');
  t.notOk(existsSync(join(disksDir, 'web.img')));
  images.removeDisk('web'); // nothing there: nothing to do
  images.remove('base');
});
