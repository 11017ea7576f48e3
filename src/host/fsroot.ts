// Reading a host's files below a root directory. Every check goes through
// here so that tests can point the whole host check at a fixture tree; a file
// that is missing or unreadable is simply absent (null / false / []).

import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export class Root {
  constructor(readonly dir: string) {}

  /** Absolute path of a host path (given relative to the root, without a leading slash). */
  at(rel: string): string {
    return path.join(this.dir, rel);
  }

  async text(rel: string): Promise<string | null> {
    try {
      return await readFile(this.at(rel), 'utf8');
    } catch {
      return null;
    }
  }

  /** True for a regular file (symlinks followed), as grub's `test -f`. */
  async isFile(rel: string): Promise<boolean> {
    try {
      return (await stat(this.at(rel))).isFile();
    } catch {
      return false;
    }
  }

  async isExecutable(rel: string): Promise<boolean> {
    try {
      const s = await stat(this.at(rel));
      return s.isFile() && (s.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  }

  /** Entry names of a directory, sorted; [] when it is missing. */
  async list(rel: string): Promise<string[]> {
    try {
      return (await readdir(this.at(rel))).sort();
    } catch {
      return [];
    }
  }
}
