// For the image tests: the debootstrap stand-in, a small image built once per
// file, a small tmpfs to fill up, and a look for mounts and processes left.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { buildImage, type BuildOptions, type ImageInfo } from '../../src/image/index.js';

export const DEBOOTSTRAP_SIM = resolve(dirname(fileURLToPath(import.meta.url)), '../../sim/debootstrap-sim');
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** A stand-in build of `name` in `dir` (64 MiB unless told). */
export function simBuild(dir: string, name: string, over: Partial<BuildOptions> = {}): Promise<ImageInfo> {
  return buildImage({ dir, name, suite: 'bookworm', mirror: 'http://deb.debian.org/debian', size: 64 * MiB, debootstrap: DEBOOTSTRAP_SIM, ...over });
}

/** A tmpfs of `bytes` at a new directory, unmounted and removed when the test ends. */
export function smallDisk(t: Test, bytes: number, inodes?: number): string {
  // not under t.testdir(): tap removes that before this test's teardowns run
  const dir = mkdtempSync(join(tmpdir(), 'domud-small-'));
  const more = inodes === undefined ? '' : `,nr_inodes=${inodes}`;
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755${more}`, 'domud-test', dir]);
  t.teardown(() => {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Mount points at or below `dir`. */
export function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Pids of processes whose command line mentions `text`. */
export function processesWith(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Files in `dir`, hidden ones too. */
export const entries = (dir: string) => readdirSync(dir).sort();
