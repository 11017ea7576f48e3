// Building a base image: debootstrap into a tree, domud's files added, the
// tree made into one ext4 filesystem in a sparse file by `mke2fs -d` (no loop
// mount), renamed into place when whole. Everything lives under
// `<dir>/.<name>.build/` until that rename, so a half-built image is never
// under the image's name and a killed build is one directory to remove.
import { readFileSync, mkdirSync, openSync, closeSync, ftruncateSync, renameSync, rmSync, statfsSync, existsSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ImageBusyError, ImageCancelledError, ImageExistsError, ImageInvalidError, ImageNoSpaceError } from './errors.js';
import { aptMirror, distributionOf, FALLBACK_MIRROR, hostRelease, kernelPackage } from './host.js';
import { unmountUnder } from './mounts.js';
import { DebootstrapProgress, type BuildProgress } from './progress.js';
import { mustSucceed, runTool, type ToolResult } from './run.js';
import { prepareTree } from './tree.js';
import { checkImageName, checkMirror, checkPackages, checkSize, checkSuite } from './validate.js';

export const DEFAULT_IMAGE_SIZE = 4 * 1024 ** 3;

/** What every image gets besides minbase: init, device events (networkd waits for udev), a kernel, sshd. */
export function basePackages(distribution: 'debian' | 'ubuntu'): string[] {
  return ['systemd-sysv', 'udev', kernelPackage(distribution), 'openssh-server'];
}

export interface BuildOptions {
  /** the image directory (absolute) */
  dir: string;
  name: string;
  /** default: dom0's own release */
  suite?: string | undefined;
  /** default: dom0's apt source for the suite (else for its own release, else the distribution's archive) */
  mirror?: string | undefined;
  /** bytes; default 4 GiB */
  size?: number | undefined;
  /** extra packages */
  packages?: readonly string[] | undefined;
  /** the debootstrap to run (default `debootstrap` on the fixed PATH) */
  debootstrap?: string | undefined;
  /** debootstrap's --cache-dir: downloaded packages kept between builds (absolute) */
  cacheDir?: string | undefined;
  /** added to the tools' environment */
  env?: Readonly<Record<string, string>> | undefined;
  signal?: AbortSignal | undefined;
  /** between SIGTERM and SIGKILL of debootstrap's process group on cancel (default 2000) */
  killGraceMs?: number | undefined;
  onProgress?: ((p: BuildProgress) => void) | undefined;
  /** where dom0's os-release and apt sources are read for the defaults (tests) */
  hostRoot?: string | undefined;
}

export interface ImageInfo {
  name: string;
  path: string;
  suite: string;
  mirror: string;
  /** bytes (the file's length, the filesystem's size) */
  size: number;
  /** the newest kernel in the image's /boot */
  kernel: string;
}

export interface BuildPlan {
  name: string;
  suite: string;
  mirror: string;
  size: number;
  packages: string[];
  /** debootstrap's arguments but the target */
  argv: (target: string) => string[];
}

/** The checked options and the defaults filled in; throws ImageInvalidError. Touches nothing. */
export function planBuild(o: BuildOptions): BuildPlan {
  if (!isAbsolute(o.dir)) throw new ImageInvalidError('dir', `${JSON.stringify(o.dir)} is not an absolute path`);
  if (o.cacheDir !== undefined && !isAbsolute(o.cacheDir)) throw new ImageInvalidError('cacheDir', `${JSON.stringify(o.cacheDir)} is not an absolute path`);
  const name = checkImageName('name', o.name);
  const host = hostRelease(o.hostRoot);
  const suite = checkSuite(o.suite ?? host.codename);
  const distribution = distributionOf(suite);
  const mirror = checkMirror(o.mirror ?? aptMirror(suite, o.hostRoot) ?? aptMirror(host.codename, o.hostRoot) ?? FALLBACK_MIRROR[distribution]);
  const size = checkSize('size', o.size ?? DEFAULT_IMAGE_SIZE);
  const packages = [...new Set([...basePackages(distribution), ...checkPackages(o.packages ?? [])])];
  const argv = (target: string) => [
    '--variant=minbase',
    `--include=${packages.join(',')}`,
    ...(o.cacheDir !== undefined ? [`--cache-dir=${o.cacheDir}`] : []),
    suite,
    target,
    mirror,
  ];
  return { name, suite, mirror, size, packages, argv };
}

export const imagePath = (dir: string, name: string) => join(dir, `${name}.img`);
export const buildDirOf = (dir: string, name: string) => join(dir, `.${name}.build`);

/** Less than this free in the directory after a failure: the failure was the full disk. */
const NEARLY_FULL = 1024 * 1024;

function nearlyFull(dir: string): boolean {
  const s = statfsSync(dir, { bigint: false });
  return s.bavail * s.bsize < NEARLY_FULL;
}

function logTail(path: string): string[] {
  try {
    return ['(debootstrap.log:)', ...readFileSync(path, 'utf8').trimEnd().split('\n').slice(-10)];
  } catch {
    return [];
  }
}

/** Builds the image; resolves with it when it is in place, under its name, whole. */
export async function buildImage(o: BuildOptions): Promise<ImageInfo> {
  const plan = planBuild(o);
  const final = imagePath(o.dir, plan.name);
  const build = buildDirOf(o.dir, plan.name);
  if (existsSync(final)) throw new ImageExistsError(final);
  if (o.signal?.aborted) throw new ImageCancelledError('start');
  try {
    mkdirSync(build, { mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new ImageBusyError(plan.name, build);
    if (code === 'ENOSPC') throw new ImageNoSpaceError(o.dir, 'start');
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImageInvalidError('dir', `${o.dir} is not a directory`);
    throw e;
  }
  const progress = new DebootstrapProgress();
  const report = (p: BuildProgress | undefined) => {
    if (p !== undefined) o.onProgress?.(p);
  };
  let step = 'debootstrap';
  const check = (r: ToolResult, log?: string) => {
    if (r.status !== 0 && (r.noSpace || nearlyFull(o.dir))) throw new ImageNoSpaceError(o.dir, step);
    // debootstrap prints "W: See …/debootstrap.log"; the reason is in there
    if (r.status !== 0 && log !== undefined) r.tail.push(...logTail(log));
    return mustSucceed(r, step);
  };
  const root = join(build, 'root');
  const file = join(build, 'image');
  try {
    check(
      await runTool(o.debootstrap ?? 'debootstrap', plan.argv(root), {
        step,
        signal: o.signal,
        env: o.env,
        killGraceMs: o.killGraceMs,
        onLine: (l) => report(progress.line(l)),
      }),
      join(root, 'debootstrap/debootstrap.log'),
    );
    step = 'prepare';
    const facts = prepareTree(root);
    step = 'mke2fs';
    report(progress.at('filesystem', 0.1, `making the ext4 filesystem (${plan.size} bytes)`));
    const fd = openSync(file, 'wx', 0o600);
    try {
      ftruncateSync(fd, plan.size);
    } finally {
      closeSync(fd);
    }
    // 4 KiB blocks whatever the size, so that a clone grown far beyond the
    // image is laid out as if made at that size.
    check(await runTool('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-d', root, file], { step, signal: o.signal, env: o.env }));
    step = 'cleanup';
    await unmountUnder(root);
    rmSync(root, { recursive: true, force: true });
    if (o.signal?.aborted) throw new ImageCancelledError(step);
    renameSync(file, final);
    rmSync(build, { recursive: true, force: true });
    report(progress.at('done', 1, 'image ready'));
    return { name: plan.name, path: final, suite: plan.suite, mirror: plan.mirror, size: statSync(final).size, kernel: facts.kernel };
  } catch (e) {
    await removeBuildDir(build);
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new ImageNoSpaceError(o.dir, step);
    throw e;
  }
}

/** Unmounts what a build left mounted under it, then removes it. */
export async function removeBuildDir(build: string): Promise<void> {
  await unmountUnder(build);
  rmSync(build, { recursive: true, force: true });
}
