// A small tmpfs that a test can fill to the last page and empty again, to
// show what domud does when the disk it writes to is full. Needs root.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Tmpfs {
  readonly dir: string;
  /** Writes a filler file until the file system says ENOSPC. */
  fill(): void;
  /** Removes the filler: the space is back. */
  free(): void;
  unmount(): void;
}

const FILLER = '.domud-test-filler';

/**
 * Mounts a tmpfs with tmpfs(5)'s `options` (e.g. `size=1m` or
 * `size=1m,nr_inodes=8`) on `dir`, made if missing, else on a new directory
 * in /tmp; unmounted and its directory removed when the test ends. A `dir`
 * inside a tree that a teardown removes must be unmounted first: call
 * `unmount()` there (it is idempotent).
 */
export function tmpfs(t: Teardown, options: string, dir = mkdtempSync(join(tmpdir(), 'domud-tmpfs-'))): Tmpfs {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `mode=0700,${options}`, 'tmpfs', dir]);
  let mounted = true;
  const unmount = () => {
    if (!mounted) return;
    execFileSync('umount', [dir]);
    rmdirSync(dir);
    mounted = false;
  };
  t.teardown(unmount);
  const filler = join(dir, FILLER);
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      const page = Buffer.alloc(4096, 0x55);
      try {
        for (;;) writeSync(fd, page);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'ENOSPC') throw e;
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    unmount,
  };
}

/** The name of the filler file, for listings that leave it out. */
export const FILLER_NAME = FILLER;
