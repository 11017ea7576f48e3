// A guest's own copy of an image: a reflink where the filesystem has them,
// else a sparse copy (cp skips the holes, so a 4 GiB image with 600 MiB of
// data costs 600 MiB, whatever its size); grown to the guest's disk size with
// the filesystem after it; its hostname, network and root's key written in.
// Made under a temporary name beside the target and renamed when whole.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ImageExistsError, ImageInvalidError, ImageNoSpaceError, NoSuchImageError } from './errors.js';
import { writeFiles, type ImageFile } from './ext4.js';
import { mustSucceed, runTool } from './run.js';
import { hostsFile } from './tree.js';
import { checkHostname, checkNetwork, checkSize, checkSshKey } from './validate.js';

export interface CloneOptions {
  /** the image file (absolute) */
  image: string;
  /** the guest's disk file to make (absolute; must not exist) */
  target: string;
  /** bytes, at least the image's size; default the image's size */
  diskSize?: number | undefined;
  hostname: string;
  /** the guest's IPv4 address, its prefix length and its gateway (dom0's `.1`) */
  address: string;
  prefix: number;
  gateway: string;
  /** one OpenSSH public key line for root */
  sshKey?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface CloneInfo {
  path: string;
  size: number;
  /** bytes the copy takes on disk when made (blocks × 512) */
  allocated: number;
}

/** The file systemd-networkd reads for the guest's eth0 (systemd.network(5)). */
export const NETWORK_FILE = '/etc/systemd/network/50-domud-eth0.network';

export function networkFile(address: string, prefix: number, gateway: string): string {
  return [
    '# written by domud: the address leased to this guest; dom0 routes it',
    '# to the guest over its vif and is its gateway. The vif is enX0 where',
    "# udev names Xen's network devices (Debian 12 and later), else eth0.",
    '[Match]',
    'Name=eth0 enX0',
    '',
    '[Network]',
    `Address=${address}/${prefix}`,
    `Gateway=${gateway}`,
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
    '',
  ].join('\n');
}

/** What goes into a clone; all values checked before. */
export function guestFiles(o: Pick<CloneOptions, 'hostname' | 'address' | 'prefix' | 'gateway' | 'sshKey'>): ImageFile[] {
  const files: ImageFile[] = [
    { path: '/etc/hostname', content: `${o.hostname}\n`, mode: 0o644 },
    { path: '/etc/hosts', content: hostsFile(o.hostname), mode: 0o644 },
    { path: NETWORK_FILE, content: networkFile(o.address, o.prefix, o.gateway), mode: 0o644 },
  ];
  if (o.sshKey !== undefined) files.push({ path: '/root/.ssh/authorized_keys', content: `${o.sshKey}\n`, mode: 0o600 });
  return files;
}

function check(o: CloneOptions): { imageSize: number; diskSize: number; sshKey: string | undefined } {
  if (!isAbsolute(o.image)) throw new ImageInvalidError('image', `${JSON.stringify(o.image)} is not an absolute path`);
  if (!isAbsolute(o.target)) throw new ImageInvalidError('target', `${JSON.stringify(o.target)} is not an absolute path`);
  checkHostname(o.hostname);
  checkNetwork(o.address, o.prefix, o.gateway);
  const sshKey = o.sshKey === undefined ? undefined : checkSshKey(o.sshKey);
  let imageSize: number;
  try {
    const st = statSync(o.image);
    if (!st.isFile()) throw new Error();
    imageSize = st.size;
  } catch {
    throw new NoSuchImageError(o.image);
  }
  const diskSize = o.diskSize === undefined ? imageSize : checkSize('disk_size', o.diskSize, imageSize);
  if (existsSync(o.target)) throw new ImageExistsError(o.target);
  return { imageSize, diskSize, sshKey };
}

/** Makes the guest's disk; throws having left nothing when anything fails. */
export async function cloneImage(o: CloneOptions): Promise<CloneInfo> {
  const { imageSize, diskSize, sshKey } = check(o);
  const tmp = join(dirname(o.target), `.${basename(o.target)}.clone-${randomBytes(6).toString('hex')}`);
  let step = 'copy';
  const ok = (r: Awaited<ReturnType<typeof runTool>>) => {
    if (r.status !== 0 && r.noSpace) throw new ImageNoSpaceError(dirname(o.target), step);
    return mustSucceed(r, step);
  };
  try {
    ok(await runTool('cp', ['--reflink=auto', '--sparse=always', '--', o.image, tmp], { step, signal: o.signal }));
    const allocated = statSync(tmp).blocks * 512;
    if (diskSize > imageSize) {
      step = 'resize2fs';
      truncateSync(tmp, diskSize);
      ok(await runTool('resize2fs', [tmp], { step, signal: o.signal }));
    }
    step = 'customise';
    await writeFiles(tmp, guestFiles({ ...o, sshKey }), ['/root/.ssh'], o.signal);
    renameSync(tmp, o.target);
    return { path: o.target, size: diskSize, allocated };
  } catch (e) {
    rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new ImageNoSpaceError(dirname(o.target), step);
    throw e;
  }
}

/** Removes a guest's disk; true when there was one. */
export function removeClone(path: string): boolean {
  if (!isAbsolute(path)) throw new ImageInvalidError('path', `${JSON.stringify(path)} is not an absolute path`);
  if (!existsSync(path)) return false;
  rmSync(path);
  return true;
}
