// Reading and writing files inside an ext4 image file with debugfs(8), as a
// library would: no loop device, no mount, nothing the guest's files could
// do to dom0 (a mount as root would follow the image's links and trust its
// metadata). Values never reach debugfs's command parser: each file's
// content goes into a staging file whose name is ours (f0, f1, ...), and the
// paths inside the image are domud's own constants, checked here anyway.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** Entries of `dir` in the image (name → mode), or undefined when it is not there. */
export async function listDir(image: string, dir: string): Promise<Map<string, number> | undefined> {
  const r = await runTool('debugfs', ['-R', `ls -p ${dir === '/' ? '/' : checkPath(dir)}`, image], { step: 'debugfs' });
  const errors = r.stderr.split('\n').filter((l) => l !== '' && !/^debugfs \d/.test(l));
  if (errors.length === 1 && /File not found by ext2_lookup/.test(errors[0]!)) return undefined;
  if (r.status !== 0 || errors.length > 0) throw new ImageFailedError('debugfs', `cannot list ${dir} in ${image}`, errors);
  const entries = new Map<string, number>();
  // `ls -p`: /inode/mode/uid/gid/name/size/ per entry
  for (const l of r.stdout.split('\n')) {
    const f = l.split('/');
    if (f.length >= 7 && f[5] !== '.' && f[5] !== '..') entries.set(f[5]!, parseInt(f[2]!, 8));
  }
  return entries;
}

/** The contents of `path` in the image; ImageFailedError when it is not a readable file. */
export async function readFile(image: string, path: string): Promise<string> {
  const r = await runTool('debugfs', ['-R', `cat ${checkPath(path)}`, image], { step: 'debugfs' });
  const errors = r.stderr.split('\n').filter((l) => l !== '' && !/^debugfs \d/.test(l));
  if (r.status !== 0 || errors.length > 0) throw new ImageFailedError('debugfs', `cannot read ${path} in ${image}`, errors);
  return r.stdout;
}

/** Where the symbolic link `path` in the image points (debugfs's cat reads links as files, not through them). */
export async function readLink(image: string, path: string): Promise<string> {
  const r = await runTool('debugfs', ['-R', `stat ${checkPath(path)}`, image], { step: 'debugfs' });
  const m = /^Fast link dest: "(.*)"$/m.exec(r.stdout);
  if (r.status !== 0 || m === null) throw new ImageFailedError('debugfs', `${path} in ${image} is not a symbolic link`, r.tail);
  return m[1]!;
}

/**
 * Writes `files` (owned by root, with their modes) into the image, making
 * missing parent directories (mode 0755, or 0700 for those in `privateDirs`)
 * and replacing what was there. debugfs exits 0 even when a command fails, so
 * any error line it prints fails the step.
 */
export async function writeFiles(image: string, files: readonly ImageFile[], privateDirs: readonly string[] = [], signal?: AbortSignal): Promise<void> {
  const dirs = [...new Set(files.map((f) => parent(checkPath(f.path))))];
  const listings = new Map<string, Map<string, number> | undefined>();
  const list = async (d: string) => {
    if (!listings.has(d)) listings.set(d, await listDir(image, d));
    return listings.get(d);
  };
  const cmds: string[] = [];
  const made = new Set<string>(['/']);
  const ensureDir = async (d: string): Promise<void> => {
    if (made.has(d)) return;
    await ensureDir(parent(d));
    const mode = (await list(parent(d)))?.get(d.slice(d.lastIndexOf('/') + 1));
    if (mode === undefined) {
      cmds.push(`mkdir ${d}`, `sif ${d} mode 0${(0o40000 | (privateDirs.includes(d) ? 0o700 : 0o755)).toString(8)}`, `sif ${d} uid 0`, `sif ${d} gid 0`);
      listings.set(d, new Map());
    } else if ((mode & 0o170000) !== 0o40000) {
      throw new ImageFailedError('customise', `${d} in ${image} is not a directory`);
    }
    made.add(d);
  };
  for (const d of dirs) await ensureDir(d);
  const stage = mkdtempSync(join(tmpdir(), 'domud-debugfs-'));
  try {
    for (const [i, f] of files.entries()) {
      writeFileSync(join(stage, `f${i}`), f.content);
      const here = await list(parent(f.path));
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
