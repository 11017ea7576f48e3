// Images (issue #23): building one against debootstrap alone with the same
// suite, variant, packages, mirror and package cache (target ≤ 1.1×),
// cloning + customising a 1 GiB and a 4 GiB image (target ≤ 2 s, and not
// growing with the image's size), and a second guest made from the built
// image against Debian's xen-tools making one (target ≥ 20× faster).
//
// The build part runs the real debootstrap, as root, with the Debian archive
// of dom0's apt sources; it takes minutes a run. BENCH_IMAGES_BUILDS=N runs it
// N times each (default 1; 0 skips it). The clone part needs only e2fsprogs:
// its images are the stand-in's tree plus 512 MiB of data, about what a
// bookworm image with a kernel holds, since what a sparse copy costs is the
// data in the image. The xen-tools part needs xen-create-image (apt-get
// install xen-tools) and a loop device, and runs with the build part.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, cloneImage, planBuild, removeClone } from '../src/image/index.js';

// dist/bench/images.js and bench/images.ts are both two levels below the root
const SIM = resolve(dirname(fileURLToPath(import.meta.url)), '../../sim/debootstrap-sim');
const GiB = 1024 ** 3;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxwHZIX/bLFhcJpa3chfXn8RW2PNE2qnC6k6FR4wXSV bench@dom0';
const round = (x: number) => Math.round(x * 1000) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs a tool with a fixed PATH and the C locale, as domud runs debootstrap. */
function run(cmd: string, argv: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, argv, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C' }, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', (e: NodeJS.ErrnoException) => rej(e.code === 'ENOENT' ? new Error(`${cmd} is not installed (BENCH_IMAGES_BUILDS=0 leaves out the parts that need it)`) : e));
    c.on('close', (s) => (s === 0 ? res() : rej(new Error(`${cmd}: exit status ${s}`))));
  });
}

const debootstrapAlone = (argv: string[]) => run('debootstrap', argv);

/** Returns the last image it built (kept for the xen-tools part). */
async function benchBuild(work: string, runs: number): Promise<string> {
  const cacheDir = join(homedir(), '.cache/domud/images/debootstrap');
  mkdirSync(cacheDir, { recursive: true });
  const opts = { dir: work, name: 'bench', suite: 'bookworm', size: 2 * GiB, cacheDir };
  const argv = planBuild(opts).argv(join(work, 'alone'));
  // one unmeasured run fills the package cache, so neither side pays the network
  await debootstrapAlone(argv);
  rmSync(join(work, 'alone'), { recursive: true, force: true });
  const alone: number[] = [];
  const ours: number[] = [];
  let last = '';
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await debootstrapAlone(argv);
    alone.push((performance.now() - t0) / 1000);
    rmSync(join(work, 'alone'), { recursive: true, force: true });
    t0 = performance.now();
    const img = await buildImage({ ...opts, name: `bench${i}` });
    ours.push((performance.now() - t0) / 1000);
    if (last) rmSync(last);
    last = img.path;
  }
  console.log(JSON.stringify({ bench: 'images.build.debootstrap', unit: 's', p50: round(median(alone)), runs }));
  console.log(JSON.stringify({ bench: 'images.build.domud', unit: 's', p50: round(median(ours)), runs }));
  console.log(JSON.stringify({ bench: 'images.build.overhead', unit: 'ratio', ratio: round(median(ours) / median(alone)), target: 1.1 }));
  return last;
}

/**
 * A second guest, call to a disk and config ready to boot: Debian's
 * xen-create-image (debootstrap into a loop-mounted image, with the first
 * guest's packages in its cache, pygrub and a kernel in the guest, as
 * domud's images have) against domud's copy of a built image with the
 * guest's hostname, network and key written in (the config domud then
 * writes is a few lines). Same suite, mirror, disk size and file system.
 */
async function benchXenTools(work: string, image: string): Promise<void> {
  const mirror = planBuild({ dir: work, name: 'x', suite: 'bookworm' }).mirror;
  const xt = join(work, 'xen-tools');
  mkdirSync(join(xt, 'etc'), { recursive: true });
  // its own package cache, not dom0's /var/cache/apt/archives (which it would copy into every guest)
  mkdirSync(join(xt, 'cache'), { recursive: true });
  const make = async (host: string, ip: string) => {
    const t0 = performance.now();
    await run('xen-create-image', [
      `--hostname=${host}`, `--dir=${xt}`, `--output=${join(xt, 'etc')}`, '--dist=bookworm', `--mirror=${mirror}`,
      '--size=2G', '--memory=256M', '--noswap', '--fs=ext4', '--pygrub', '--genpass=0', '--nohosts', '--force',
      '--cache=yes', `--cachedir=${join(xt, 'cache')}/`,
      `--ip=${ip}`, '--netmask=255.255.255.0', '--gateway=172.20.216.1',
    ]);
    return (performance.now() - t0) / 1000;
  };
  await make('benchxt1', '172.20.216.21'); // the first fills the package cache, as domud's image build does for it
  const theirs = await make('benchxt2', '172.20.216.22');
  const target = join(work, 'second.img');
  const t0 = performance.now();
  await cloneImage({ image, target, hostname: 'second', address: '172.20.216.23', prefix: 24, gateway: '172.20.216.1', sshKey: KEY });
  const ours = (performance.now() - t0) / 1000;
  removeClone(target);
  console.log(JSON.stringify({ bench: 'images.second-guest.xen-create-image', unit: 's', value: round(theirs) }));
  console.log(JSON.stringify({ bench: 'images.second-guest.domud', unit: 's', value: round(ours) }));
  console.log(JSON.stringify({ bench: 'images.second-guest.speedup', unit: 'ratio', ratio: round(theirs / ours), target: '≥ 20' }));
}

async function benchClone(work: string): Promise<void> {
  const p50: Record<string, number> = {};
  for (const size of [1 * GiB, 4 * GiB]) {
    const label = `${size / GiB}GiB`;
    const dir = join(work, label);
    mkdirSync(dir);
    const img = await buildImage({ dir, name: 'base', suite: 'bookworm', mirror: 'http://deb.debian.org/debian', size, debootstrap: SIM, env: { DEBOOTSTRAP_SIM_FILL: String(512 * 1024 * 1024) } });
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const target = join(dir, `guest${i}.img`);
      const t0 = performance.now();
      await cloneImage({ image: img.path, target, diskSize: size + GiB, hostname: `guest${i}`, address: '172.20.216.5', prefix: 24, gateway: '172.20.216.1', sshKey: KEY });
      const ms = performance.now() - t0;
      if (i > 0) times.push(ms); // the first warms the page cache
      removeClone(target);
    }
    p50[label] = median(times);
    console.log(JSON.stringify({ bench: `images.clone.${label}`, unit: 'ms', p50: round(p50[label]!), max: round(Math.max(...times)), target: 2000, ratio: round(p50[label]! / 2000) }));
  }
  console.log(JSON.stringify({ bench: 'images.clone.growth', unit: 'ratio', ratio: round(p50['4GiB']! / p50['1GiB']!), target: 1.1 }));
}

const work = mkdtempSync('/var/tmp/domud-bench-images-');
try {
  await benchClone(work);
  const runs = Number(process.env.BENCH_IMAGES_BUILDS ?? '1');
  if (runs > 0) {
    const image = await benchBuild(work, runs);
    await benchXenTools(work, image);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
