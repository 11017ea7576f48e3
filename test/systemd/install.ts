// Runs the project's install step into a fresh temporary DESTDIR.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SYSTEMD_DIR = join(ROOT, 'systemd');

export interface Staged {
  readonly destdir: string;
  remove(): void;
}

export function installFiles(args: readonly string[] = []): Staged {
  const destdir = mkdtempSync(join(tmpdir(), 'domud-destdir-'));
  execFileSync(join(ROOT, 'scripts/install-files.sh'), ['--destdir', destdir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { destdir, remove: () => rmSync(destdir, { recursive: true, force: true }) };
}
