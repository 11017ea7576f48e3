// Defaults taken from dom0 itself: its release, and the archive its apt
// sources name for a suite (one-line .list files and deb822 .sources).
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** os-release(5)'s VERSION_CODENAME and ID under `root`. */
export function hostRelease(root = '/'): { id: string; codename: string } {
  const text = read(join(root, 'etc/os-release')) || read(join(root, 'usr/lib/os-release'));
  const get = (k: string) => new RegExp(`^${k}=("?)([^"\\n]*)\\1$`, 'm').exec(text)?.[2] ?? '';
  return { id: get('ID'), codename: get('VERSION_CODENAME') };
}

function listFiles(dir: string, ext: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** The URI the host's apt sources give for `suite` (a `deb` entry), or undefined. */
export function aptMirror(suite: string, root = '/'): string | undefined {
  const etc = join(root, 'etc/apt');
  for (const f of [join(etc, 'sources.list'), ...listFiles(join(etc, 'sources.list.d'), '.list')]) {
    for (const l of read(f).split('\n')) {
      const w = l.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
      if (w[0] === 'deb' && w[2] === suite && w[1] !== undefined) return w[1];
    }
  }
  for (const f of listFiles(join(etc, 'sources.list.d'), '.sources')) {
    for (const stanza of read(f).split(/\n\s*\n/)) {
      const field = (k: string) => new RegExp(`^${k}:[ \\t]*(.*)$`, 'mi').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
      if (/^enabled:\s*no\s*$/im.test(stanza)) continue;
      if (field('Types').includes('deb') && field('Suites').includes(suite) && field('URIs')[0] !== undefined) return field('URIs')[0];
    }
  }
  return undefined;
}

/** Ubuntu's debootstrap scripts are links to `gutsy`, Debian's to `sid` (or `sid` itself). */
export function distributionOf(suite: string, scripts = '/usr/share/debootstrap/scripts'): 'debian' | 'ubuntu' {
  try {
    return readlinkSync(join(scripts, suite)) === 'gutsy' ? 'ubuntu' : 'debian';
  } catch {
    return 'debian';
  }
}

/** The kernel metapackage a PV guest of that distribution boots (x86-64). */
export function kernelPackage(distribution: 'debian' | 'ubuntu'): string {
  return distribution === 'ubuntu' ? 'linux-image-virtual' : 'linux-image-amd64';
}

export const FALLBACK_MIRROR = { debian: 'http://deb.debian.org/debian', ubuntu: 'http://archive.ubuntu.com/ubuntu' } as const;
