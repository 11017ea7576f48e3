// Reading and writing files inside an ext4 image file with debugfs(8), as a
// library would: no loop device, no mount, nothing the guest's files could
// do to dom0 (a mount as root would follow the image's links and trust its
// metadata). Values never reach debugfs's command parser: each file's
// content goes into a staging file whose name is ours (f0, f1, ...), and the
// paths inside the image are domud's own constants, checked here anyway.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { ImageFailedError, ImageInvalidError } from './errors.js';
import { runTool } from './run.js';

export interface ImageFile {
  /** absolute path inside the image */
  path: string;
  content: string;
  /** permission bits, e.g. 0o600 */
  mode: number;
}

/** Paths that debugfs's parser reads as one word: no spaces, quotes or control characters. */
function checkPath(p: string): string {
  if (!/^(\/[A-Za-z0-9_.@:+-]+)+$/.test(p) || p.split('/').some((s) => s === '.' || s === '..')) {
    throw new ImageInvalidError('path', `${JSON.stringify(p)} is not a plain absolute path`);
  }
  return p;
}

const parent = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';

/**
 * Entries (name → mode) of each of `dirs` in the image, undefined for those
 * that are not there: one debugfs run for all of them (a run costs more than
 * a listing).
 */
export async function listDirs(image: string, dirs: readonly string[]): Promise<Map<string, Map<string, number> | undefined>> {
  const cmds = dirs.map((d) => `ls -p ${d === '/' ? '/' : checkPath(d)}`);
  const r = await runTool('debugfs', ['-f', '-', image], { step: 'debugfs', input: cmds.join('\n') + '\n' });
  const errors = r.stderr.split('\n').filter((l) => l !== '' && !/^debugfs \d/.test(l) && !/: (File not found by ext2_lookup|Ext2 inode is not a directory)\s*$/.test(l));
  if (r.status !== 0 || errors.length > 0) throw new ImageFailedError('debugfs', `cannot list ${dirs.join(', ')} in ${image}`, errors);
  const result = new Map<string, Map<string, number> | undefined>(dirs.map((d) => [d, undefined]));
  let current: Map<string, number> | undefined;
  let at = -1;
  for (const l of r.stdout.split('\n')) {
    if (l.startsWith('debugfs: ls -p ')) {
      current = undefined;
      at++;
      continue;
    }
    // `ls -p`: /inode/mode/uid/gid/name/size/ per entry; a directory always has `.`
    const f = l.split('/');
    if (f.length < 7 || at < 0 || at >= dirs.length) continue;
    if (current === undefined) result.set(dirs[at]!, (current = new Map()));
    if (f[5] !== '.' && f[5] !== '..') current.set(f[5]!, parseInt(f[2]!, 8));
  }
  return result;
}

/** Entries of `dir` in the image (name → mode), or undefined when it is not there. */
export async function listDir(image: string, dir: string): Promise<Map<string, number> | undefined> {
  return (await listDirs(image, [dir])).get(dir);
}

/** The contents of `path` in the image; ImageFailedError when it is not a readable file. */
export async function readFile(image: string, path: string): Promise<string> {
  const r = await runTool('debugfs', ['-R', `cat ${checkPath(path)}`, image], { step: 'debugfs' });
  const errors = r.stderr.split('\n').filter((l) => l !== '' && !/^debugfs \d/.test(l));
  if (r.status !== 0 || errors.length > 0) throw new ImageFailedError('debugfs', `cannot read ${path} in ${image}`, errors);
  return r.stdout;
}

/** Where `path` in the image leads when it is a symbolic link (`link` undefined when it is not, or is not there), and what debugfs said. */
async function linkTarget(image: string, path: string): Promise<{ link: string | undefined; tail: string[] }> {
  const r = await runTool('debugfs', ['-R', `stat ${checkPath(path)}`, image], { step: 'debugfs' });
  const m = /^Fast link dest: "(.*)"$/m.exec(r.stdout);
  return { link: r.status !== 0 || m === null ? undefined : m[1], tail: r.tail };
}

/**
 * The contents of `path` in the image, through symbolic links as the guest
 * would see them (a link leads within the image, never out of it): Debian's
 * /etc/os-release is one, to ../usr/lib/os-release.
 */
export async function readFileThroughLinks(image: string, path: string, hops = 8): Promise<string> {
  const { link } = await linkTarget(image, path);
  if (link === undefined) return readFile(image, path);
  if (hops === 0) throw new ImageFailedError('debugfs', `too many levels of symbolic links at ${path} in ${image}`, []);
  return readFileThroughLinks(image, posix.resolve(parent(path), link), hops - 1);
}

/** Where the symbolic link `path` in the image points (debugfs's cat reads links as files, not through them). */
export async function readLink(image: string, path: string): Promise<string> {
  const { link, tail } = await linkTarget(image, path);
  if (link === undefined) throw new ImageFailedError('debugfs', `${path} in ${image} is not a symbolic link`, tail);
  return link;
}

/**
 * Writes `files` (owned by root, with their modes) into the image, making
 * missing parent directories (mode 0755, or 0700 for those in `privateDirs`)
 * and replacing what was there. debugfs exits 0 even when a command fails, so
 * any error line it prints fails the step.
 */
export async function writeFiles(image: string, files: readonly ImageFile[], privateDirs: readonly string[] = [], signal?: AbortSignal): Promise<void> {
  const dirs = [...new Set(files.map((f) => parent(checkPath(f.path))))];
  const ancestors = new Set<string>(['/']);
  for (let d of dirs) for (; d !== '/'; d = parent(d)) ancestors.add(d);
  const listings = await listDirs(image, [...ancestors].sort());
  const list = (d: string) => listings.get(d);
  const cmds: string[] = [];
  const made = new Set<string>(['/']);
  const ensureDir = (d: string): void => {
    if (made.has(d)) return;
    ensureDir(parent(d));
    const mode = list(parent(d))?.get(d.slice(d.lastIndexOf('/') + 1));
    if (mode === undefined) {
      cmds.push(`mkdir ${d}`, `sif ${d} mode 0${(0o40000 | (privateDirs.includes(d) ? 0o700 : 0o755)).toString(8)}`, `sif ${d} uid 0`, `sif ${d} gid 0`);
      listings.set(d, new Map());
    } else if ((mode & 0o170000) !== 0o40000) {
      throw new ImageFailedError('customise', `${d} in ${image} is not a directory`);
    }
    made.add(d);
  };
  for (const d of dirs) ensureDir(d);
  const stage = mkdtempSync(join(tmpdir(), 'domud-debugfs-'));
  try {
    for (const [i, f] of files.entries()) {
      writeFileSync(join(stage, `f${i}`), f.content);
      const here = list(parent(f.path));
      if (here?.has(f.path.slice(f.path.lastIndexOf('/') + 1))) cmds.push(`rm ${f.path}`);
      cmds.push(`write f${i} ${f.path}`, `sif ${f.path} mode 0${(0o100000 | (f.mode & 0o7777)).toString(8)}`, `sif ${f.path} uid 0`, `sif ${f.path} gid 0`);
    }
    writeFileSync(join(stage, 'commands'), cmds.join('\n') + '\n');
    const r = await runTool('debugfs', ['-w', '-f', 'commands', image], { step: 'customise', cwd: stage, signal });
    const errors = r.stderr.split('\n').filter((l) => l !== '' && !/^debugfs \d/.test(l));
    if (r.status !== 0 || errors.length > 0) throw new ImageFailedError('customise', `debugfs could not write into ${image}`, errors.length > 0 ? errors : r.tail);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
