// npm run test:images: a real image from Debian's debootstrap (bookworm,
// from dom0's own apt source), checked with the tools a dom0 would use on
// it: Debian's own pygrub (xen-utils-4.17, unpacked, not installed, so the
// machine does not turn into a Xen host), debugfs and e2fsck. Needs root,
// debootstrap, e2fsprogs and the Debian archive. Packages are kept in
// ~/.cache/domud/images between runs; debootstrap checks each against the
// signed Release file whether it came from there or from the network. An
// image that passes every check is left there for npm run test:xen, which
// boots a guest from it on real Xen (test/support/built-image.mjs).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildOptions, CACHE, publish } from '../support/built-image.mjs';
import { buildImage, cloneImage, listDir, readFile, readLink, removeLeftovers, NETWORK_FILE, type BuildProgress } from '../../src/image/index.js';

const GiB = 1024 ** 3;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxwHZIX/bLFhcJpa3chfXn8RW2PNE2qnC6k6FR4wXSV alice@desk';

// A run killed by tap's timeout leaves its directory and debootstrap's
// mounts: clear them first, as the daemon does at start-up.
for (const old of readdirSync('/var/tmp').filter((f) => f.startsWith('domud-images-'))) {
  await removeLeftovers(join('/var/tmp', old));
  rmSync(join('/var/tmp', old), { recursive: true, force: true });
}
const work = mkdtempSync('/var/tmp/domud-images-');
let built: { path: string; kernel: string } | undefined;
t.teardown(() => {
  if (built && t.passing()) {
    publish('bookworm', built.path, built.kernel);
    console.log(`# left for npm run test:xen: ${CACHE}/built/bookworm.img`);
  }
  rmSync(work, { recursive: true, force: true });
});

/** Debian's pygrub, unpacked from its packages into the cache once. */
function pygrub(): { bin: string; env: Record<string, string> } {
  const root = join(CACHE, 'pygrub');
  const lib = join(root, 'usr/lib/xen-4.17');
  try {
    statSync(join(lib, 'bin/pygrub'));
  } catch {
    const debs = join(CACHE, 'pygrub-debs');
    mkdirSync(debs, { recursive: true });
    execFileSync('apt-get', ['download', '-q', 'xen-utils-4.17', 'libxenmisc4.17'], { cwd: debs, stdio: 'inherit' });
    for (const d of readdirSync(debs).filter((f) => f.endsWith('.deb'))) execFileSync('dpkg-deb', ['-x', join(debs, d), root]);
  }
  const arch = join(lib, 'lib/x86_64-linux-gnu');
  return { bin: join(lib, 'bin/pygrub'), env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LD_LIBRARY_PATH: arch, XEN_FSIMAGE_FSDIR: join(arch, 'xenfsimage') } };
}

/** What pygrub hands the toolstack for this disk: kernel and ramdisk (copied out) and args. */
function bootEntry(disk: string): { kernel: Buffer; ramdisk: Buffer; args: string } {
  const p = pygrub();
  const out = mkdtempSync(join(work, 'pygrub-'));
  const text = execFileSync('python3', [p.bin, '-q', '--output-format=simple', `--output-directory=${out}`, disk], { env: p.env }).toString();
  const field = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(text)?.[1] ?? '';
  return { kernel: readFileSync(field('kernel')), ramdisk: readFileSync(field('ramdisk')), args: field('args') };
}

function dump(image: string, path: string): Buffer {
  const out = join(work, 'dumped');
  rmSync(out, { force: true });
  execFileSync('debugfs', ['-R', `dump ${path} ${out}`, image], { stdio: 'ignore' });
  return readFileSync(out);
}

const seen: BuildProgress[] = [];
const started = Date.now();
const image = await buildImage({ ...buildOptions('bookworm', work), onProgress: (p) => seen.push(p) });
built = image;
t.comment(`built in ${((Date.now() - started) / 1000).toFixed(1)} s; ${statSync(image.path).blocks * 512} bytes on disk for ${image.size}`);

t.test('the build reported its way through every phase', async (t) => {
  t.same([...new Set(seen.map((p) => p.phase))], ['download', 'extract', 'required', 'base', 'filesystem', 'done']);
  t.ok(seen.every((p, i) => i === 0 || p.fraction > seen[i - 1]!.fraction), 'never back');
  t.equal(seen.at(-1)!.fraction, 1);
  t.same(readdirSync(work).filter((f) => f.startsWith('.')), [], 'no build directory left');
});

t.test("the distribution's kernel, booted by Debian's pygrub", async (t) => {
  t.match(image.kernel, /^\d+\.\d+\.\d+-\d+-amd64$/);
  const boot = await listDir(image.path, '/boot');
  t.ok(boot!.has(`vmlinuz-${image.kernel}`) && boot!.has(`initrd.img-${image.kernel}`));
  t.equal(await readLink(image.path, '/vmlinuz'), `boot/vmlinuz-${image.kernel}`);
  const entry = bootEntry(image.path);
  t.equal(entry.args, 'root=/dev/xvda ro console=hvc0');
  t.ok(entry.kernel.equals(dump(image.path, `/boot/vmlinuz-${image.kernel}`)), 'pygrub hands over the kernel in /boot');
  t.ok(entry.ramdisk.equals(dump(image.path, `/boot/initrd.img-${image.kernel}`)), 'and its initrd');
});

t.test('sshd, a getty on hvc0, networkd, and no password', async (t) => {
  t.ok((await listDir(image.path, '/usr/sbin'))!.has('sshd'));
  t.ok((await listDir(image.path, '/lib/systemd/system'))!.has('ssh.service'));
  t.same([...(await listDir(image.path, '/etc/ssh'))!.keys()].filter((f) => f.startsWith('ssh_host_')), [], 'host keys are made by each guest');
  t.ok((await listDir(image.path, '/usr/bin'))!.has('ssh-keygen'), 'which has ssh-keygen for it');
  t.match(await readFile(image.path, '/etc/shadow'), /^root:[*!]/m, 'root has no password');
  t.notMatch(await readFile(image.path, '/etc/shadow'), /^[^:]+::/m, 'nobody logs in without one');
  t.ok((await listDir(image.path, '/etc/systemd/system/getty.target.wants'))!.has('serial-getty@hvc0.service'));
  t.ok((await listDir(image.path, '/lib/systemd/system'))!.has('serial-getty@.service'));
  t.ok((await listDir(image.path, '/lib/systemd/system'))!.has('systemd-networkd.service'));
  t.ok((await listDir(image.path, '/etc/systemd/system/multi-user.target.wants'))!.has('systemd-networkd.service'));
  t.equal(await readFile(image.path, '/etc/machine-id'), '');
  execFileSync('e2fsck', ['-fn', image.path], { stdio: 'ignore' });
});

t.test('a clone: grown, its hostname, network and key written, still booted by pygrub', async (t) => {
  const t0 = Date.now();
  const c = await cloneImage({ image: image.path, target: join(work, 'web1.img'), diskSize: 3 * GiB, hostname: 'web1', address: '172.20.216.5', prefix: 24, gateway: '172.20.216.1', sshKey: KEY });
  t.comment(`cloned in ${Date.now() - t0} ms`);
  t.equal(statSync(c.path).size, 3 * GiB);
  execFileSync('e2fsck', ['-fn', c.path], { stdio: 'ignore' });
  t.equal(await readFile(c.path, '/etc/hostname'), 'web1\n');
  t.match(await readFile(c.path, NETWORK_FILE), /Address=172\.20\.216\.5\/24\nGateway=172\.20\.216\.1\n/);
  t.equal(await readFile(c.path, '/root/.ssh/authorized_keys'), `${KEY}\n`);
  t.equal((await listDir(c.path, '/root'))!.get('.ssh')! & 0o7777, 0o700);
  t.equal(bootEntry(c.path).args, 'root=/dev/xvda ro console=hvc0');
});
