import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  cloneImage,
  listDir,
  readFile,
  removeClone,
  writeFiles,
  NETWORK_FILE,
  ImageCancelledError,
  ImageExistsError,
  ImageFailedError,
  ImageInvalidError,
  ImageNoSpaceError,
  NoSuchImageError,
  type CloneOptions,
} from '../../src/image/index.js';
import { entries, GiB, MiB, simBuild, smallDisk } from './support.js';

// ssh-keygen -t ed25519 -C alice@desk; ssh-keygen -t ecdsa
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxwHZIX/bLFhcJpa3chfXn8RW2PNE2qnC6k6FR4wXSV alice@desk';
const ECDSA = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPrEFRYQrnEKsHo1qoJ33GIpjTxwKOVEWGK6cVwe+zwhlD5zgvjjVfIXwF9/lz9EkFmOHzLeD8vqKEUTTPJ6N1c=';

const base = t.testdir();
const images = join(base, 'images');
const guests = join(base, 'guests');
mkdirSync(images);
mkdirSync(guests);
const image = (await simBuild(images, 'deb12', { size: 256 * MiB })).path;

const opts = (over: Partial<CloneOptions> = {}): CloneOptions => ({
  image,
  target: join(guests, 'web1.img'),
  hostname: 'web1',
  address: '172.20.216.5',
  prefix: 24,
  gateway: '172.20.216.1',
  ...over,
});

function blockCount(img: string): number {
  const out = execFileSync('dumpe2fs', ['-h', img], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return Number(/^Block count:\s+(\d+)$/m.exec(out)![1]);
}

t.test("a clone: sparse, grown with its filesystem, the guest's own settings written in", async (t) => {
  const before = statSync(image).blocks * 512;
  const c = await cloneImage(opts({ diskSize: 4 * GiB, sshKey: `${ED25519}\n` }));
  t.teardown(() => removeClone(c.path));
  t.same(entries(guests), ['web1.img'], 'no temporary left');
  t.equal(c.path, join(guests, 'web1.img'));
  t.equal(c.size, 4 * GiB);
  t.equal(statSync(c.path).size, 4 * GiB, 'the file is the disk size');
  t.equal(blockCount(c.path) * 4096, 4 * GiB, 'the filesystem fills it');
  t.ok(c.allocated <= before + MiB, `the copy took ${c.allocated} bytes for an image of ${before}`);
  t.ok(statSync(c.path).blocks * 512 < 64 * MiB, `grown and written: ${statSync(c.path).blocks * 512} bytes on disk for 4 GiB`);
  execFileSync('e2fsck', ['-fn', c.path], { stdio: 'ignore' }); // throws when the filesystem is not clean

  t.equal(await readFile(c.path, '/etc/hostname'), 'web1\n');
  t.match(await readFile(c.path, '/etc/hosts'), /^127\.0\.1\.1\tweb1$/m);
  t.equal(
    await readFile(c.path, NETWORK_FILE),
    '# written by domud: the address leased to this guest; dom0 routes it\n# to the guest over its vif and is its gateway. The vif is enX0 where\n# udev names Xen\'s network devices (Debian 12 and later), else eth0.\n[Match]\nName=eth0 enX0\n\n[Network]\nAddress=172.20.216.5/24\nGateway=172.20.216.1\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n',
  );
  t.equal(await readFile(c.path, '/root/.ssh/authorized_keys'), `${ED25519}\n`);
  const ssh = await listDir(c.path, '/root/.ssh');
  t.equal(ssh!.get('authorized_keys')! & 0o7777, 0o600);
  t.equal((await listDir(c.path, '/root'))!.get('.ssh')! & 0o7777, 0o700);
  t.equal((await listDir(c.path, '/etc/systemd/network'))!.get('50-domud-eth0.network')! & 0o7777, 0o644);
  t.equal(await readFile(image, '/etc/hostname'), 'localhost\n', 'the image itself is untouched');
  t.rejects(readFile(image, '/root/.ssh/authorized_keys'), ImageFailedError);
});

t.test('a clone at the image size, without a key; then removed', async (t) => {
  const c = await cloneImage(opts({ target: join(guests, 'db.img'), hostname: 'db', address: '10.0.0.6', prefix: 30, gateway: '10.0.0.5', sshKey: ECDSA }));
  t.equal(statSync(c.path).size, 256 * MiB);
  t.match(await readFile(c.path, NETWORK_FILE), /Address=10\.0\.0\.6\/30\nGateway=10\.0\.0\.5\n/);
  t.equal(await readFile(c.path, '/root/.ssh/authorized_keys'), `${ECDSA}\n`);
  const plain = await cloneImage(opts({ target: join(guests, 'plain.img') }));
  await t.rejects(readFile(plain.path, '/root/.ssh/authorized_keys'), ImageFailedError, 'no key, no file');
  // A second clone of a clone replaces the settings in place.
  const again = await cloneImage(opts({ image: c.path, target: join(guests, 'db2.img'), hostname: 'db2', sshKey: ED25519 }));
  t.equal(await readFile(again.path, '/etc/hostname'), 'db2\n');
  t.equal(await readFile(again.path, '/root/.ssh/authorized_keys'), `${ED25519}\n`);
  t.equal(removeClone(c.path), true);
  t.equal(removeClone(c.path), false, 'gone already');
  removeClone(plain.path);
  removeClone(again.path);
  t.throws(() => removeClone('relative.img'), ImageInvalidError);
  t.same(entries(guests), []);
});

t.test('bad input is refused with nothing made', async (t) => {
  const key = (s: string) => ({ sshKey: s });
  const ed = ED25519.split(' ');
  const cases: [Partial<CloneOptions>, string][] = [
    [{ hostname: 'web_1' }, 'hostname'],
    [{ hostname: '-web' }, 'hostname'],
    [{ hostname: 'a'.repeat(64) }, 'hostname'],
    [{ hostname: 'web1.example.org' }, 'hostname'],
    [{ hostname: 'web1\nroot' }, 'hostname'],
    [{ address: '172.20.216.256' }, 'address'],
    [{ address: '172.20.216.0' }, 'address'],
    [{ address: '172.20.216.255' }, 'address'],
    [{ address: '172.20.216.5/24' }, 'address'],
    [{ gateway: '172.20.217.1' }, 'gateway'],
    [{ gateway: '172.20.216.5' }, 'gateway'],
    [{ gateway: 'dom0' }, 'gateway'],
    [{ prefix: 31 }, 'prefix'],
    [{ prefix: 24.5 }, 'prefix'],
    [{ diskSize: 128 * MiB }, 'disk_size'],
    [{ diskSize: 256 * MiB + 512 }, 'disk_size'],
    [{ image: 'deb12.img' }, 'image'],
    [{ target: 'web1.img' }, 'target'],
    [key(''), 'ssh_key'],
    [key('ssh-dss AAAAB3NzaC1kc3MAAACBAP== old'), 'ssh_key'],
    [key(`command="/bin/sh" ${ED25519}`), 'ssh_key'],
    [key(`${ED25519}\n${ED25519}`), 'ssh_key'],
    [key(`${ed[0]} ${ed[1]!.slice(0, 40)}`), 'ssh_key'],
    [key(`${ed[0]} ${ed[1]}!`), 'ssh_key'],
    [key(`ssh-rsa ${ed[1]}`), 'ssh_key'],
    [key(`${ed[0]} ${ed[1]} caf\u00e9`), 'ssh_key'],
    [key(`${ed[0]}  ${ed[1]}`), 'ssh_key'],
    [key(`${ed[0]} ${Buffer.from('x').toString('base64')}`), 'ssh_key'],
    [key(`${ed[0]} ${ed[1]} ${'x'.repeat(17000)}`), 'ssh_key'],
  ];
  for (const [over, field] of cases) {
    await t.rejects(cloneImage(opts(over)), { constructor: ImageInvalidError, code: 'InvalidArgument', field }, JSON.stringify(over).slice(0, 80));
  }
  await t.rejects(cloneImage(opts({ image: join(images, 'nosuch.img') })), NoSuchImageError);
  await t.rejects(cloneImage(opts({ image: images })), NoSuchImageError, 'a directory is no image');
  writeFileSync(join(guests, 'taken.img'), 'a guest disk');
  await t.rejects(cloneImage(opts({ target: join(guests, 'taken.img') })), ImageExistsError);
  t.same(entries(guests), ['taken.img'], 'nothing made, nothing changed');
  removeClone(join(guests, 'taken.img'));
  const ac = new AbortController();
  ac.abort();
  await t.rejects(cloneImage(opts({ signal: ac.signal })), ImageCancelledError);
  t.same(entries(guests), []);
});

t.test('a full disk: NoSpace naming the directory, nothing left', async (t) => {
  // an image with more data than the small disk holds
  const big = join(base, 'big');
  mkdirSync(big);
  const img = await simBuild(big, 'fat', { env: { DEBOOTSTRAP_SIM_FILL: String(20 * MiB) } });
  const dir = smallDisk(t, 8 * MiB);
  const e = await cloneImage(opts({ image: img.path, target: join(dir, 'web1.img') })).catch((x: unknown) => x);
  t.type(e, ImageNoSpaceError);
  t.match(e, { code: 'NoSpace', dir, step: 'copy' });
  t.same(entries(dir), []);
});

t.test('writing into an image: what debugfs refuses fails the step', async (t) => {
  const dir = t.testdir();
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc/hostname'), { recursive: true });
  writeFileSync(join(root, 'etc/systemd'), 'a file where a directory belongs');
  const img = join(dir, 'odd.img');
  writeFileSync(img, '');
  execFileSync('truncate', ['-s', '16M', img]);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', root, img]);
  await t.rejects(writeFiles(img, [{ path: '/etc/hostname', content: 'x\n', mode: 0o644 }]), { constructor: ImageFailedError, code: 'ImageFailed', step: 'customise' }, 'a directory in the way');
  await t.rejects(writeFiles(img, [{ path: '/etc/systemd/network/x', content: 'x\n', mode: 0o644 }]), { step: 'customise', message: /\/etc\/systemd in .* is not a directory/ });
  await t.rejects(writeFiles(img, [{ path: '/etc/../x', content: '', mode: 0o644 }]), ImageInvalidError);
  await t.rejects(writeFiles(img, [{ path: '/etc/a b', content: '', mode: 0o644 }]), ImageInvalidError);
  await writeFiles(img, [{ path: '/new/deep/file', content: 'made\n', mode: 0o640 }], ['/new/deep']);
  t.equal(await readFile(img, '/new/deep/file'), 'made\n');
  t.equal((await listDir(img, '/new'))!.get('deep')! & 0o7777, 0o700);
  t.equal((await listDir(img, '/'))!.get('new')! & 0o7777, 0o755);
  t.equal(await listDir(img, '/nothere'), undefined);
  await t.rejects(listDir(join(dir, 'missing.img'), '/'), ImageFailedError);
  t.notOk(existsSync(join(dir, 'missing.img')));
});
