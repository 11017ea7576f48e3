// The image directory: what is in it, removing an image, and removing what a
// killed build or clone left (run it before any build starts).
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildDirOf, imagePath, removeBuildDir } from './build.js';
import { ImageBusyError, ImageFailedError, NoSuchImageError } from './errors.js';
import { readFileThroughLinks } from './ext4.js';
import { endGroupsWorkingIn } from './stragglers.js';
import { checkImageName } from './validate.js';

export interface ImageEntry {
  name: string;
  path: string;
  /** bytes, the file's length */
  size: number;
  /** bytes it takes on disk */
  allocated: number;
  /** µs since the epoch: when it was renamed into place */
  createdAt: number;
}

const IMAGE = /^([A-Za-z0-9_:+][A-Za-z0-9_.:+-]{0,63})\.img$/;
const BUILD = /^\.([A-Za-z0-9_:+][A-Za-z0-9_.:+-]{0,63})\.build$/;
const CLONE = /^\..+\.clone-[0-9a-f]{12}$/;

/** Ready images, by name; builds under way are not among them. */
export function listImages(dir: string): ImageEntry[] {
  return readdirSync(dir)
    .map((f) => IMAGE.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort()
    .flatMap((name) => {
      try {
        const st = statSync(imagePath(dir, name));
        return st.isFile() ? [{ name, path: imagePath(dir, name), size: st.size, allocated: st.blocks * 512, createdAt: Math.floor(st.ctimeMs * 1000) }] : [];
      } catch {
        return [];
      }
    });
}

/** Names whose build is under way (or was killed and not yet cleaned up). */
export function listBuilds(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => BUILD.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

export function removeImage(dir: string, name: string): void {
  checkImageName('name', name);
  if (listBuilds(dir).includes(name)) throw new ImageBusyError(name, buildDirOf(dir, name));
  try {
    rmSync(imagePath(dir, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NoSuchImageError(imagePath(dir, name));
    throw e;
  }
}

/**
 * Removes the build directories of killed builds (ending the processes still
 * working in them and unmounting what debootstrap left mounted there first)
 * and the temporaries of killed clones in `dirs`; returns the paths removed.
 * Only for when no build or clone of this process runs.
 */
export async function removeLeftovers(...dirs: string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of dirs) {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (BUILD.test(f)) {
        await endGroupsWorkingIn(p);
        await removeBuildDir(p);
      }
      else if (CLONE.test(f)) rmSync(p, { force: true });
      else continue;
      removed.push(p);
    }
  }
  return removed;
}

/**
 * The release an image holds: VERSION_CODENAME from its os-release, found
 * as os-release(5) says (/etc/os-release, a link on Debian, else
 * /usr/lib/os-release); '' when it names none.
 */
export async function imageSuite(image: string): Promise<string> {
  let text: string;
  try {
    text = await readFileThroughLinks(image, '/etc/os-release');
  } catch (e) {
    if (!(e instanceof ImageFailedError)) throw e;
    text = await readFileThroughLinks(image, '/usr/lib/os-release');
  }
  return /^VERSION_CODENAME=(.*)$/m.exec(text)?.[1]?.replace(/^"|"$/g, '') ?? '';
}
