import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { aptMirror, distributionOf, DebootstrapProgress, hostRelease, kernelPackage, type BuildProgress } from '../../src/image/index.js';
import { mountsUnder } from '../../src/image/mounts.js';
import { kernelsIn, lockRoot, prepareTree } from '../../src/image/tree.js';
import { unmountUnder } from '../../src/image/mounts.js';
import { ImageFailedError } from '../../src/image/index.js';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { compareVersions } from '../../src/lib/dpkg-version.js';

/** Newest first, as an image's kernels are listed. */
const compareKernels = (a: string, b: string): number => compareVersions(b, a);

t.test("debootstrap's own output of a bookworm build, line by line", async (t) => {
  // test/image/fixtures/debootstrap-bookworm.txt: the stdout of a real run
  // (debootstrap 1.0.128+nmu2+deb12u2, minbase + systemd-sysv, udev,
  // linux-image-amd64, openssh-server).
  const lines = readFileSync(new URL('fixtures/debootstrap-bookworm.txt', import.meta.url), 'utf8').trimEnd().split('\n');
  const p = new DebootstrapProgress();
  const seen: BuildProgress[] = [];
  for (const l of lines) {
    const r = p.line(l);
    if (r !== undefined) seen.push(r);
  }
  for (let i = 1; i < seen.length; i++) if (!(seen[i]!.fraction > seen[i - 1]!.fraction)) t.fail(`report ${i} went back: ${JSON.stringify(seen[i])}`);
  t.same([...new Set(seen.map((s) => s.phase))], ['download', 'extract', 'required', 'base', 'filesystem']);
  const last = (phase: string) => seen.filter((s) => s.phase === phase).at(-1)!.fraction;
  t.ok(last('download') > 0.33 && last('download') < 0.35, `the download ends near its share: ${last('download')}`);
  t.ok(last('extract') > 0.44 && last('extract') <= 0.45, `${last('extract')}`);
  t.ok(last('required') > 0.64 && last('required') <= 0.65, `${last('required')}`);
  t.ok(last('base') > 0.91 && last('base') <= 0.92, `${last('base')}`);
  t.equal(seen.at(-1)!.fraction, 0.92);
  t.equal(p.line('I: Retrieving Packages '), undefined, 'an index is no package');
  t.equal(p.line('W: something'), undefined);
  t.equal(p.at('download', 1, 'late'), undefined, 'never back to an earlier phase');
  t.same(p.at('done', 1, 'image ready'), { phase: 'done', fraction: 1, message: 'image ready' });
});

t.test("a download longer than the guess stays below the phase's end", async (t) => {
  const p = new DebootstrapProgress(10);
  let f = 0;
  for (let i = 0; i < 50; i++) f = p.line(`I: Validating pkg${i} 1.0`)!.fraction;
  t.ok(f < 0.35);
});

t.test("dom0's release and its apt sources", async (t) => {
  const root = t.testdir({
    etc: {
      'os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME="bookworm"\n',
      apt: {
        'sources.list': '# deb http://commented.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n',
        'sources.list.d': {
          'a.sources': 'Types: deb\nURIs: http://disabled.example/debian\nSuites: trixie\nEnabled: no\n\nTypes: deb deb-src\nURIs: http://822.example/debian http://second.example/debian\nSuites: trixie trixie-updates\nComponents: main\n',
          'b.list': 'deb http://list.example/ubuntu noble main\n',
          'ignored.txt': 'deb http://no.example/ sid main\n',
        },
      },
    },
  });
  t.same(hostRelease(root), { id: 'debian', codename: 'bookworm' });
  t.equal(aptMirror('bookworm', root), 'http://one.example/debian', 'options in brackets skipped');
  t.equal(aptMirror('trixie', root), 'http://822.example/debian', 'deb822, the first URI of the enabled stanza');
  t.equal(aptMirror('noble', root), 'http://list.example/ubuntu');
  t.equal(aptMirror('sid', root), undefined);
  t.same(hostRelease(t.testdir({ usr: { lib: { 'os-release': 'ID=ubuntu\nVERSION_CODENAME=noble\n' } } })), { id: 'ubuntu', codename: 'noble' });
  t.same(hostRelease(t.testdir({})), { id: '', codename: '' });
  t.equal(aptMirror('bookworm', t.testdir({})), undefined);
});

t.test('Debian or Ubuntu, from the debootstrap script a suite links to', async (t) => {
  const scripts = t.testdir({ sid: 'script', bookworm: t.fixture('symlink', 'sid'), noble: t.fixture('symlink', 'gutsy'), gutsy: 'script' });
  t.equal(distributionOf('bookworm', scripts), 'debian');
  t.equal(distributionOf('sid', scripts), 'debian');
  t.equal(distributionOf('noble', scripts), 'ubuntu');
  t.equal(distributionOf('nosuch', scripts), 'debian');
  t.equal(kernelPackage('debian'), 'linux-image-amd64');
  t.equal(kernelPackage('ubuntu'), 'linux-image-virtual');
});

t.test('mount points below a directory, deepest first, escapes undone', async (t) => {
  const dir = t.testdir();
  const info = join(dir, 'mountinfo');
  writeFileSync(
    info,
    [
      '22 1 0:21 / / rw - ext4 /dev/vda rw',
      '30 22 0:5 / /srv/images/.a\\040b.build/root/proc rw - proc proc rw',
      '31 30 0:6 / /srv/images/.a\\040b.build/root/proc/sys/fs/binfmt_misc rw - binfmt_misc b rw',
      '32 22 0:7 / /srv/images/.a\\040b.build/root rw - tmpfs t rw',
      '33 22 0:8 / /srv/images/.a\\040b.buildx rw - tmpfs t rw',
      '',
    ].join('\n'),
  );
  t.same(mountsUnder('/srv/images/.a b.build', info), [
    '/srv/images/.a b.build/root/proc/sys/fs/binfmt_misc',
    '/srv/images/.a b.build/root/proc',
    '/srv/images/.a b.build/root',
  ]);
});

t.test('root without a password is locked; other entries stay', async (t) => {
  t.equal(lockRoot('root::19000:0:99999:7:::\ndaemon:*:19000::::::\n'), 'root:*:19000:0:99999:7:::\ndaemon:*:19000::::::\n');
  t.equal(lockRoot('root:$y$j9T$abc:19000::::::\n'), 'root:$y$j9T$abc:19000::::::\n');
  t.equal(lockRoot('root:*:19000::::::\n'), 'root:*:19000::::::\n');
});

t.test("kernels in /boot, newest first, only those with an initrd", async (t) => {
  const root = t.testdir({
    boot: {
      'vmlinuz-6.1.0-9-amd64': '',
      'initrd.img-6.1.0-9-amd64': '',
      'vmlinuz-6.1.0-28-amd64': '',
      'initrd.img-6.1.0-28-amd64': '',
      'vmlinuz-6.1.0-30-amd64': '',
      'initrd.img-6.1.0-30-amd64.new': '',
      'vmlinuz-6.1.0-28~bpo-amd64': '',
      'initrd.img-6.1.0-28~bpo-amd64': '',
    },
  });
  t.same(kernelsIn(root), ['6.1.0-28-amd64', '6.1.0-28~bpo-amd64', '6.1.0-9-amd64']);
  t.same(kernelsIn(t.testdir({})), []);
  t.equal(compareKernels('1.0', '1.0'), 0);
  t.ok(compareKernels('1.0a', '1.0') < 0, 'newer sorts first');
  t.ok(compareKernels('1.0~rc1', '1.0') > 0);
});

t.test('a tree whose paths lead out of it is refused, not followed', async (t) => {
  const boot = { 'vmlinuz-6.1.0-28-amd64': '', 'initrd.img-6.1.0-28-amd64': '' };
  const outside = t.testdir();
  const linked = t.testdir({ boot: { ...boot, grub: t.fixture('symlink', outside) }, usr: { sbin: { sshd: '' } }, etc: { ssh: {} } });
  t.throws(() => prepareTree(linked), { constructor: ImageFailedError, code: 'ImageFailed', step: 'prepare', message: /boot\/grub is not a directory/ });
  const odd = t.testdir({ boot, vmlinuz: {}, usr: { sbin: { sshd: '' } }, etc: { ssh: {} } });
  t.throws(() => prepareTree(odd), { constructor: ImageFailedError, code: 'ImageFailed', message: /\/vmlinuz is neither a file nor a link/ });
});

t.test('a busy mount is detached, and then the directory is clear', async (t) => {
  const dir = t.testdir();
  const m = join(dir, 'root/proc');
  mkdirSync(m, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'domud-test', m]);
  const busy = spawn('sleep', ['60'], { cwd: m, stdio: 'ignore' });
  t.teardown(() => busy.kill());
  await new Promise((res) => busy.on('spawn', res));
  await unmountUnder(dir);
  t.same(mountsUnder(dir), []);
  await unmountUnder(join(dir, 'missing'));
});

t.test('tools run with umask 022 whatever the daemon has, and the daemon keeps its own', async (t) => {
  const { runTool } = await import('../../src/image/run.js');
  const old = process.umask(0o077);
  try {
    const r = await runTool('sh', ['-c', 'umask'], { step: 'umask' });
    t.equal(r.stdout.trim(), '0022', 'the tool');
    t.equal(process.umask(0o077), 0o077, 'the daemon, after the spawn');
  } finally {
    process.umask(old);
  }
});
