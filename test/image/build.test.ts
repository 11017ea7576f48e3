import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  buildImage,
  imageSuite,
  listBuilds,
  listDir,
  listImages,
  planBuild,
  readFile,
  readFileThroughLinks,
  readLink,
  removeImage,
  removeLeftovers,
  ImageBusyError,
  ImageCancelledError,
  ImageExistsError,
  ImageFailedError,
  ImageInvalidError,
  ImageNoSpaceError,
  NoSuchImageError,
  type BuildProgress,
} from '../../src/image/index.js';
import { DEBOOTSTRAP_SIM, entries, MiB, mountsBelow, processesWith, simBuild, smallDisk } from './support.js';

t.test('a build leaves one sparse image under its name, with what a guest needs', async (t) => {
  const dir = t.testdir();
  const seen: BuildProgress[] = [];
  const img = await simBuild(dir, 'deb12', { onProgress: (p) => seen.push(p) });
  t.same(entries(dir), ['deb12.img'], 'nothing else is left');
  t.equal(img.path, join(dir, 'deb12.img'));
  t.equal(img.size, 64 * MiB);
  t.equal(img.kernel, '6.1.0-28-amd64');
  t.equal(img.suite, 'bookworm');
  const st = statSync(img.path);
  t.equal(st.size, 64 * MiB);
  t.ok(st.blocks * 512 < 16 * MiB, `sparse: ${st.blocks * 512} bytes allocated`);

  // progress: from debootstrap's own lines, in order, never back, ending at 1
  t.ok(seen.length > 20, `${seen.length} reports`);
  for (let i = 1; i < seen.length; i++) t.ok(seen[i]!.fraction > seen[i - 1]!.fraction, `report ${i} moves on`);
  t.same([...new Set(seen.map((p) => p.phase))], ['download', 'extract', 'required', 'base', 'filesystem', 'done']);
  t.equal(seen.at(-1)!.fraction, 1);
  t.match(seen.find((p) => p.phase === 'download')!.message, /^I: Validating \S+ \S+$/);

  const grub = await readFile(img.path, '/boot/grub/grub.cfg');
  t.match(grub, /^menuentry '.*' \{\n\tlinux \/vmlinuz root=\/dev\/xvda ro console=hvc0\n\tinitrd \/initrd\.img\n\}$/m);
  t.match(await readFile(img.path, '/boot/grub/menu.lst'), /^kernel \/vmlinuz root=\/dev\/xvda ro console=hvc0$/m);
  t.equal(await readLink(img.path, '/vmlinuz'), 'boot/vmlinuz-6.1.0-28-amd64', '/vmlinuz leads to the kernel');
  t.equal(await readLink(img.path, '/initrd.img'), 'boot/initrd.img-6.1.0-28-amd64');
  t.match(await readFile(img.path, '/boot/vmlinuz-6.1.0-28-amd64'), /debootstrap-sim kernel/);
  await t.rejects(readLink(img.path, '/etc/fstab'), ImageFailedError, 'not a link');
  t.match(await readFile(img.path, '/etc/fstab'), /^\/dev\/xvda \/ ext4 /m);
  t.match(await readFile(img.path, '/etc/shadow'), /^root:\*:/m, 'no password');
  t.equal(await readFile(img.path, '/etc/machine-id'), '', 'each guest makes its own machine id');
  t.equal(await readFile(img.path, '/etc/hostname'), 'localhost\n');
  const ssh = await listDir(img.path, '/etc/ssh');
  t.same([...ssh!.keys()].filter((f) => f.startsWith('ssh_host_')), [], 'no host keys shared by every clone');
  t.ok(ssh!.has('sshd_config'));
  t.match(await readFile(img.path, '/etc/systemd/system/domud-ssh-host-keys.service'), /ExecStart=\/usr\/bin\/ssh-keygen -A/);
  const getty = await listDir(img.path, '/etc/systemd/system/getty.target.wants');
  t.equal((getty!.get('serial-getty@hvc0.service')! & 0o170000), 0o120000, 'a getty on hvc0');
  const wants = await listDir(img.path, '/etc/systemd/system/multi-user.target.wants');
  t.same([...wants!.keys()].sort(), ['domud-ssh-host-keys.service', 'systemd-networkd.service']);

  // Debian's /etc/os-release is a link to ../usr/lib/os-release, as the stand-in makes it
  await t.rejects(readFile(img.path, '/etc/os-release'), ImageFailedError, 'debugfs reads a link, not through it');
  t.match(await readFileThroughLinks(img.path, '/etc/os-release'), /^VERSION_CODENAME=bookworm$/m);
  t.equal(await imageSuite(img.path), 'bookworm', 'the suite, through the link');

  t.same(listImages(dir).map((i) => [i.name, i.size]), [['deb12', 64 * MiB]]);
  t.rejects(simBuild(dir, 'deb12'), ImageExistsError, 'a second build of the name is refused');
  removeImage(dir, 'deb12');
  t.same(entries(dir), []);
  t.throws(() => removeImage(dir, 'deb12'), NoSuchImageError);
});

t.test("an image's release: os-release(5)'s places, links inside the image only", async (t) => {
  const image = (tree: Record<string, string | [link: string]>) => {
    const dir = t.testdir();
    for (const [path, what] of Object.entries(tree)) {
      mkdirSync(join(dir, 'tree', path, '..'), { recursive: true });
      if (typeof what === 'string') writeFileSync(join(dir, 'tree', path), what);
      else symlinkSync(what[0], join(dir, 'tree', path));
    }
    execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', join(dir, 'tree'), join(dir, 'x.img'), '8M']);
    return join(dir, 'x.img');
  };
  t.equal(await imageSuite(image({ 'etc/os-release': 'ID=debian\nVERSION_CODENAME="trixie"\n' })), 'trixie', 'a plain file, quoted');
  t.equal(await imageSuite(image({ 'usr/lib/os-release': 'VERSION_CODENAME=noble\n' })), 'noble', 'no /etc/os-release: /usr/lib/os-release');
  t.equal(await imageSuite(image({ 'etc/os-release': ['/usr/lib/os-release'], 'usr/lib/os-release': 'VERSION_CODENAME=sid\n' })), 'sid', 'an absolute link leads inside the image');
  t.equal(await imageSuite(image({ 'etc/os-release': ['../usr/lib/os-release'], 'usr/lib/os-release': 'ID=debian\n' })), '', 'no codename: empty');
  await t.rejects(imageSuite(image({ 'etc/os-release': ['os-release'], 'usr/lib/os-release': ['../../etc/os-release'] })), ImageFailedError, 'a loop of links fails');
  await t.rejects(imageSuite(image({ 'etc/hostname': 'x\n' })), ImageFailedError, 'no os-release at all fails');
});

t.test('bad options are refused before anything is made', async (t) => {
  const dir = t.testdir();
  const cases: [Parameters<typeof simBuild>[2], string, string?][] = [
    [{}, 'name', '-x'],
    [{}, 'name', '.hidden'],
    [{}, 'name', 'a/b'],
    [{}, 'name', 'x'.repeat(65)],
    [{ suite: 'Bookworm' }, 'suite'],
    [{ suite: 'book worm' }, 'suite'],
    [{ suite: '--foo' }, 'suite'],
    [{ mirror: 'ftp://deb.debian.org/debian' }, 'mirror'],
    [{ mirror: 'http://deb.debian.org/deb ian' }, 'mirror'],
    [{ mirror: 'not a url' }, 'mirror'],
    [{ mirror: 'file:///srv/mirror' }, 'mirror'],
    [{ size: 1000 }, 'size'],
    [{ size: 64 * MiB + 1 }, 'size'],
    [{ size: 1.5 * 1024 * MiB + 0.5 }, 'size'],
    [{ packages: ['vim', '--force-yes'] }, 'packages'],
    [{ packages: ['a,b'] }, 'packages'],
    [{ packages: ['Vim'] }, 'packages'],
    [{ packages: Array.from({ length: 201 }, (_, i) => `pkg${i}`) }, 'packages'],
    [{ dir: 'relative' }, 'dir'],
    [{ cacheDir: 'relative' }, 'cacheDir'],
  ];
  for (const [over, field, name] of cases) {
    await t.rejects(simBuild(dir, name ?? 'ok', over), { constructor: ImageInvalidError, field, code: 'InvalidArgument' }, JSON.stringify(over ?? name));
  }
  t.same(entries(dir), [], 'nothing made');
});

t.test('the defaults come from dom0: its release and its apt source for it', async (t) => {
  const root = t.testdir({
    etc: {
      'os-release': 'ID=debian\nVERSION_CODENAME=bookworm\n',
      apt: { 'sources.list.d': { 'debian.sources': 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n' } },
    },
  });
  const plan = planBuild({ dir: '/srv/images', name: 'x', hostRoot: root });
  t.equal(plan.suite, 'bookworm');
  t.equal(plan.mirror, 'http://mirror.example/debian');
  t.equal(plan.size, 4 * 1024 * MiB);
  t.same(plan.packages, ['systemd-sysv', 'udev', 'linux-image-amd64', 'openssh-server']);
  t.same(plan.argv('/t'), ['--variant=minbase', '--include=systemd-sysv,udev,linux-image-amd64,openssh-server', 'bookworm', '/t', 'http://mirror.example/debian']);
  const p2 = planBuild({ dir: '/srv/images', name: 'x', hostRoot: root, suite: 'trixie', packages: ['vim', 'udev'], cacheDir: '/var/cache/x' });
  t.equal(p2.mirror, 'http://mirror.example/debian', "another suite: the archive of dom0's own release");
  t.same(p2.argv('/t'), ['--variant=minbase', '--include=systemd-sysv,udev,linux-image-amd64,openssh-server,vim', '--cache-dir=/var/cache/x', 'trixie', '/t', 'http://mirror.example/debian']);
  const bare = t.testdir({});
  t.throws(() => planBuild({ dir: '/srv/images', name: 'x', hostRoot: bare }), { name: 'ImageInvalidError', message: /^suite: / }, 'no release known: say which');
  t.equal(planBuild({ dir: '/srv/images', name: 'x', hostRoot: bare, suite: 'bookworm' }).mirror, 'http://deb.debian.org/debian');
});

t.test("debootstrap's failures name the step and carry its last lines; nothing stays", async (t) => {
  const dir = t.testdir();
  const release = await simBuild(dir, 'x', { env: { DEBOOTSTRAP_SIM_FAIL: 'release' } }).catch((e: unknown) => e);
  t.type(release, ImageFailedError);
  t.match(release, { step: 'debootstrap', code: 'ImageFailed', message: /exit status 1\n[^]*E: Failed getting release file http:\/\/deb\.debian\.org\/debian\/dists\/bookworm\/Release/ });
  const missing = await simBuild(dir, 'x', { packages: ['vim'], env: { DEBOOTSTRAP_SIM_UNKNOWN: 'vim' } }).catch((e: unknown) => e);
  t.match(missing, { step: 'debootstrap', message: /E: Couldn't find these debs: vim/ });
  const conf = await simBuild(dir, 'x', { env: { DEBOOTSTRAP_SIM_FAIL: 'configure' } }).catch((e: unknown) => e);
  t.match(conf, { step: 'debootstrap', message: /W: See .*debootstrap\.log[^]*post-installation script subprocess returned error exit status 1/ }, "the log's last lines too");
  const suite = await simBuild(dir, 'x', { suite: 'nosuchsuite' }).catch((e: unknown) => e);
  t.match(suite, { step: 'debootstrap', message: /E: No such script: \/usr\/share\/debootstrap\/scripts\/nosuchsuite/ });
  const absent = await simBuild(dir, 'x', { debootstrap: '/nonexistent/debootstrap' }).catch((e: unknown) => e);
  t.match(absent, { constructor: ImageFailedError, step: 'debootstrap', message: /not installed/ });
  t.same(entries(dir), [], 'nothing left after any of them');
});

t.test('a tree without a kernel or sshd is refused', async (t) => {
  const base = t.testdir();
  const dir = join(base, 'images');
  mkdirSync(dir);
  // A debootstrap that leaves a bare tree: the stand-in with none of the packages.
  const wrapper = join(base, 'bare-debootstrap');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${DEBOOTSTRAP_SIM} --variant=minbase "$3" "$4" "$5"\n`, { mode: 0o755 });
  await t.rejects(simBuild(dir, 'x', { debootstrap: wrapper }), { step: 'prepare', message: /no kernel with an initrd in \/boot/ });
  const sshless = join(base, 'sshless-debootstrap');
  writeFileSync(sshless, `#!/bin/sh\nexec ${DEBOOTSTRAP_SIM} --variant=minbase --include=linux-image-amd64 "$3" "$4" "$5"\n`, { mode: 0o755 });
  await t.rejects(simBuild(dir, 'x', { debootstrap: sshless }), { step: 'prepare', message: /no \/usr\/sbin\/sshd/ });
  t.same(entries(dir), []);
});

t.test('cancel: the whole process group goes, mounts are undone, nothing stays', async (t) => {
  for (const ignoreTerm of [false, true]) {
    const dir = t.testdir();
    const ac = new AbortController();
    const build = simBuild(dir, 'x', {
      signal: ac.signal,
      killGraceMs: 200,
      env: { DEBOOTSTRAP_SIM_MOUNT: '1', DEBOOTSTRAP_SIM_HANG: 'base', ...(ignoreTerm ? { DEBOOTSTRAP_SIM_IGNORE_TERM: '1' } : {}) },
      onProgress: (p) => {
        if (p.phase === 'base') setTimeout(() => ac.abort(), 300);
      },
    });
    await t.rejects(build, { constructor: ImageCancelledError, code: 'Cancelled', step: 'debootstrap' }, ignoreTerm ? 'deaf to SIGTERM' : 'SIGTERM');
    t.same(entries(dir), [], 'no build directory');
    t.same(mountsBelow(dir), [], 'its /proc is unmounted');
    t.same(processesWith(join(dir, '.x.build')), [], 'no process of the group is left');
  }
  const dir = t.testdir();
  const ac = new AbortController();
  ac.abort();
  await t.rejects(simBuild(dir, 'x', { signal: ac.signal }), ImageCancelledError, 'cancelled before it began');
  t.same(entries(dir), []);
});

t.test('a killed build: busy until its leftovers are removed, then builds again', async (t) => {
  const dir = t.testdir();
  // What a SIGKILLed daemon leaves: the build directory, debootstrap's
  // mount in it (systemd kills the processes with the daemon's cgroup).
  mkdirSync(join(dir, '.x.build'));
  const child = spawn(DEBOOTSTRAP_SIM, ['--variant=minbase', 'bookworm', join(dir, '.x.build', 'root'), 'http://deb.debian.org/debian'], {
    env: { PATH: process.env.PATH!, DEBOOTSTRAP_SIM_MOUNT: '1', DEBOOTSTRAP_SIM_HANG: 'base' },
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((res) => child.stdout.on('data', (b: Buffer) => b.toString().includes('Unpacking the base system') && res()));
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((res) => child.on('close', res));
  t.equal(mountsBelow(dir).length, 1, 'the kill left a mount');
  writeFileSync(join(dir, '.web.img.clone-0123456789ab'), 'half a clone');
  writeFileSync(join(dir, 'notes.txt'), 'not ours');

  t.same(listBuilds(dir), ['x']);
  t.same(listImages(dir), [], 'a killed build is no image');
  await t.rejects(simBuild(dir, 'x'), ImageBusyError);
  t.throws(() => removeImage(dir, 'x'), ImageBusyError);
  t.same((await removeLeftovers(dir)).sort(), [join(dir, '.web.img.clone-0123456789ab'), join(dir, '.x.build')]);
  t.same(mountsBelow(dir), []);
  t.same(entries(dir), ['notes.txt']);
  t.same(await removeLeftovers(dir), [], 'nothing the second time');
  await simBuild(dir, 'x');
  t.same(entries(dir), ['notes.txt', 'x.img']);
});

t.test('a full disk: NoSpace naming the directory, and nothing left', async (t) => {
  const dir = smallDisk(t, 24 * MiB);
  // debootstrap's own writes fail
  const e1 = await simBuild(dir, 'x', { env: { DEBOOTSTRAP_SIM_FILL: String(32 * MiB) } }).catch((e: unknown) => e);
  t.type(e1, ImageNoSpaceError);
  t.match(e1, { code: 'NoSpace', dir, step: 'debootstrap' });
  t.same(entries(dir), []);
  // the tree fits, the filesystem made from it does not
  const e2 = await simBuild(dir, 'x', { env: { DEBOOTSTRAP_SIM_FILL: String(14 * MiB) } }).catch((e: unknown) => e);
  t.type(e2, ImageNoSpaceError);
  t.match(e2, { dir, step: 'mke2fs' });
  t.same(entries(dir), []);
  t.ok(statSync(dir).isDirectory() && !existsSync(join(dir, 'x.img')));
  // no inode left for the build directory itself
  const full = smallDisk(t, 4 * MiB, 1);
  await t.rejects(simBuild(full, 'x'), { constructor: ImageNoSpaceError, code: 'NoSpace', step: 'start' });
});

t.test('an image directory that is not there', async (t) => {
  const dir = t.testdir();
  await t.rejects(simBuild(join(dir, 'missing'), 'x'), { constructor: ImageInvalidError, code: 'InvalidArgument', field: 'dir' });
  writeFileSync(join(dir, 'file'), '');
  await t.rejects(simBuild(join(dir, 'file'), 'x'), { constructor: ImageInvalidError, code: 'InvalidArgument', field: 'dir' });
  mkdirSync(join(dir, 'odd.img'));
  t.same(listImages(dir), [], 'a directory named like an image is none');
  t.throws(() => removeImage(dir, 'odd'), { code: 'ERR_FS_EISDIR' }, 'and is not removed');
  t.throws(() => removeImage(dir, '../x'), ImageInvalidError);
});
