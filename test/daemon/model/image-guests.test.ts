// CreateDomain's image, disk_size and ssh_key options in the model, on the
// fakes: the guest's own copy with its name, address, prefix and gateway,
// a config that boots it with pygrub, the copy undone with every rollback,
// removed by a destroy and kept by a shutdown; bad combinations refused
// before anything is leased.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ToolstackFailedError } from '../../../src/xm/index.js';
import { rig } from './fakes.js';
import { imageRig } from './image-fakes.js';

const MiB = 1024 * 1024;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@example';

async function both(t: { teardown(fn: () => unknown): void }) {
  const im = await imageRig(t);
  im.tools.ready.set('base', 64 * MiB);
  await im.images.load();
  const r = rig(t, { disks: im.images });
  return { ...im, ...r };
}

t.test('create from an image: a copy, pygrub, and the copy goes with a destroy only', async (t) => {
  const { manager, tools, disksDir, configDir, host } = await both(t);
  const d = await manager.create('web', { image: 'base', disk_size: BigInt(128 * MiB), ssh_key: KEY });
  t.match(d.settings, { image: 'base', kernel: '', ramdisk: '' });
  t.match(tools.clones, [{ target: join(disksDir, 'web.img'), hostname: 'web', address: '10.9.0.2', prefix: 24, gateway: '10.9.0.1', diskSize: 128 * MiB, sshKey: KEY }]);
  const cfg = readFileSync(join(configDir, 'web.cfg'), 'utf8');
  t.match(cfg, /^bootloader = "pygrub"$/m);
  t.match(cfg, `target=${join(disksDir, 'web.img')}`);
  t.notMatch(cfg, /^kernel/m, 'no kernel of dom0\'s');
  t.notMatch(cfg, /^extra/m, 'no ip= on a command line: the address is in the copy');
  await manager.shutdown('web', { wait: true });
  t.ok(existsSync(join(disksDir, 'web.img')), 'a shutdown keeps the copy');
  await manager.start('web');
  t.equal(host.guests.has('web'), true, 'and it starts again from it');
  await manager.destroy('web');
  t.notOk(existsSync(join(disksDir, 'web.img')), 'a destroy removes it');
});

t.test('a create that fails after the copy removes it and the lease', async (t) => {
  const { manager, host, disksDir, allocator } = await both(t);
  host.fail.set('create', new ToolstackFailedError(['xl', 'create'], 3, 'bootloader failed'));
  await t.rejects(manager.create('web', { image: 'base' }), { code: 'ToolstackFailed' });
  t.notOk(existsSync(join(disksDir, 'web.img')), 'the copy is gone');
  t.equal(allocator.inUse(), 0, 'the lease is released');
});

t.test('a copy that fails leaves nothing', async (t) => {
  const { manager, tools, allocator, host } = await both(t);
  tools.cloneError = Object.assign(new Error('no space left in /disks (during copy)'), { code: 'NoSpace' });
  await t.rejects(manager.create('web', { image: 'base' }), { code: 'NoSpace' });
  t.equal(allocator.inUse(), 0);
  t.same(host.calls, [], 'the toolstack was never asked');
});

t.test('bad combinations and values: refused before anything is leased', async (t) => {
  const { manager, allocator, tools, images } = await both(t);
  const bad: Array<[object, string, RegExp?]> = [
    [{ image: 'base', kernel: '/boot/k' }, 'InvalidArgument', /"kernel" does not combine with "image"/],
    [{ image: 'base', ramdisk: '/boot/i' }, 'InvalidArgument', /"ramdisk" does not combine/],
    [{ image: 'base', root: '/dev/xvda1' }, 'InvalidArgument', /"root" does not combine/],
    [{ disk_size: BigInt(128 * MiB) }, 'InvalidArgument', /"disk_size" needs "image"/],
    [{ ssh_key: KEY }, 'InvalidArgument', /"ssh_key" needs "image"/],
    [{ image: 'base', ssh_key: 'not a key' }, 'InvalidArgument', /ssh_key/],
    [{ image: 'base', disk_size: BigInt(MiB) }, 'InvalidArgument', /disk_size/],
    [{ image: 'base', disk_size: BigInt(64 * MiB + 1) }, 'InvalidArgument', /multiple of 4096/],
    [{ image: 'none' }, 'NoSuchImage'],
    [{ image: 'bad/name' }, 'InvalidArgument', /Option "image": Invalid image name/],
    [{ image: '' }, 'InvalidArgument', /Option "image"/],
  ];
  for (const [o, code, message] of bad) t.throws(() => manager.create('web', o), { code, ...(message ? { message } : {}) }, JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
  t.throws(() => manager.create('web_1', { image: 'base' }), { code: 'InvalidArgument', message: /not a host name/ });
  images.create('young', { size: 64 * MiB }, 0);
  t.throws(() => manager.create('web', { image: 'young' }), { code: 'ImageBusy' });
  t.equal(allocator.inUse(), 0);
  t.same(tools.clones, []);
});

t.test('no image directory: the image option is refused', async (t) => {
  const { manager } = rig(t);
  t.throws(() => manager.create('web', { image: 'base' }), { code: 'InvalidArgument', message: /no image directory/ });
});
