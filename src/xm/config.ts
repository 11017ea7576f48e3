// Guest config files in the subset that both xm (the file is Python) and xl
// (libxlu's grammar) read the same way (xen-notes §4.3): fixed lower-case keys,
// decimal integers, double-quoted strings escaped by quote() alone.
import { randomBytes } from 'node:crypto';
import { closeSync, fsync, openSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { ConfigValueError, NoSpaceError } from './errors.js';

export interface GuestSpec {
  name: string;
  /** MiB */
  memory: number;
  vcpus: number;
  /** absolute path; absent when the guest boots from its `image` */
  kernel?: string | undefined;
  ramdisk?: string | undefined;
  /** e.g. `/dev/xvda1 ro` */
  root?: string | undefined;
  /** kernel command line */
  extra?: string | undefined;
  /** `TARGET,VDEV,MODE`, e.g. `phy:/dev/vg0/web,xvda1,w` */
  disks: string[];
  vif: { mac: string; ip: string; script: string };
  /**
   * The guest's own disk image (a raw file holding one filesystem, see
   * src/image), attached as `xvda` and booted by pygrub from the kernel in
   * it: instead of `kernel`, `ramdisk` and `root`. The toolstack decides the
   * disk syntax: xl's key=value form (docs/misc/xl-disk-configuration.txt),
   * or xm's `file:` form, which xl reads only as a deprecated alias.
   */
  image?: { path: string; toolstack: 'xm' | 'xl' } | undefined;
}

/** xend's name characters minus `/` (it would break file paths); not all digits, not led by `-`. */
export function checkName(field: string, name: string): string {
  if (!/^[A-Za-z0-9_.:+][A-Za-z0-9_.:+-]{0,63}$/.test(name)) {
    throw new ConfigValueError(field, `${JSON.stringify(name)} is not a domain name (1-64 of A-Z a-z 0-9 _ . : + -, not starting with -)`);
  }
  if (/^\d+$/.test(name)) throw new ConfigValueError(field, `${name} would be read as a domain id`);
  return name;
}

/**
 * The one quoting function: a double-quoted string that Python 2, Python 3
 * and libxlu all read back as `value`. Only printable ASCII is carried; the
 * escape sets of the two grammars agree on nothing beyond \\ and \".
 */
export function quote(field: string, value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new ConfigValueError(field, `character U+${c.toString(16).padStart(4, '0').toUpperCase()} at ${i} cannot be written (printable ASCII only)`);
    }
  }
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

function integer(field: string, v: number, min: number, max: number): string {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new ConfigValueError(field, `${v} is not an integer in ${min}..${max}`);
  return String(v);
}

function absolutePath(field: string, v: string): string {
  if (!v.startsWith('/')) throw new ConfigValueError(field, `${JSON.stringify(v)} is not an absolute path`);
  return v;
}

/** A disk spec's items are separated by `,`, so no item may hold one (or space). */
function disk(field: string, spec: string): string {
  const items = spec.split(',');
  if (items.length < 3 || items.length > 4 || items.some((s) => !/^[^\s,]+$/.test(s))) {
    throw new ConfigValueError(field, `${JSON.stringify(spec)} is not TARGET,VDEV,MODE[,DOMAIN]`);
  }
  if (!/^(r|w|w!|ro|rw)$/.test(items[2]!)) throw new ConfigValueError(field, `mode ${JSON.stringify(items[2])} is not r, w, w!, ro or rw`);
  return quote(field, spec);
}

function vif(v: GuestSpec['vif']): string {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(v.mac)) throw new ConfigValueError('vif.mac', `${JSON.stringify(v.mac)} is not a MAC address`);
  if (!/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(v.ip)) {
    throw new ConfigValueError('vif.ip', `${JSON.stringify(v.ip)} is not an IPv4 address`);
  }
  if (!/^[A-Za-z0-9_./-]+$/.test(v.script)) throw new ConfigValueError('vif.script', `${JSON.stringify(v.script)} is not a script name or path`);
  return quote('vif', `mac=${v.mac},ip=${v.ip},script=${v.script}`);
}

/**
 * The image as xvda, writable, raw. xl: `target=` last, as the grammar asks
 * (everything after it is the path). Both forms split on `,`, and xl trims
 * blanks, so the path may hold neither.
 */
function imageDisk(image: NonNullable<GuestSpec['image']>): string {
  const path = absolutePath('image.path', image.path);
  if (!/^[^\s,]+$/.test(path)) throw new ConfigValueError('image.path', `${JSON.stringify(path)} holds a comma or a blank`);
  if (image.toolstack === 'xl') return quote('image.path', `format=raw, vdev=xvda, access=rw, target=${path}`);
  if (image.toolstack === 'xm') return quote('image.path', `file:${path},xvda,w`);
  throw new ConfigValueError('image.toolstack', `${JSON.stringify(image.toolstack)} is not xm or xl`);
}

/** How the guest boots: a kernel of dom0's, or pygrub reading the one in its image. */
function boot(spec: GuestSpec): string[] {
  if (spec.image === undefined) {
    if (spec.kernel === undefined) throw new ConfigValueError('kernel', 'a guest needs a kernel or an image');
    const lines = [`kernel = ${quote('kernel', absolutePath('kernel', spec.kernel))}`];
    if (spec.ramdisk !== undefined) lines.push(`ramdisk = ${quote('ramdisk', absolutePath('ramdisk', spec.ramdisk))}`);
    if (spec.root !== undefined) lines.push(`root = ${quote('root', spec.root)}`);
    return lines;
  }
  for (const f of ['kernel', 'ramdisk', 'root'] as const) {
    if (spec[f] !== undefined) throw new ConfigValueError(f, 'does not combine with image (pygrub takes it from the image)');
  }
  return ['bootloader = "pygrub"'];
}

/** The config file text; throws ConfigValueError naming the first bad field. */
export function renderGuestConfig(spec: GuestSpec): string {
  const lines = [
    '# generated by domud - do not edit',
    `name = ${quote('name', checkName('name', spec.name))}`,
    `memory = ${integer('memory', spec.memory, 1, 16 * 1024 * 1024)}`,
    `vcpus = ${integer('vcpus', spec.vcpus, 1, 4096)}`,
    ...boot(spec),
  ];
  if (spec.extra !== undefined) lines.push(`extra = ${quote('extra', spec.extra)}`);
  const disks = [...(spec.image !== undefined ? [imageDisk(spec.image)] : []), ...spec.disks.map((d, i) => disk(`disks[${i}]`, d))];
  if (disks.length > 0) lines.push(`disk = [ ${disks.join(', ')} ]`);
  lines.push(`vif = [ ${vif(spec.vif)} ]`, 'on_poweroff = "destroy"', 'on_reboot = "restart"', 'on_crash = "destroy"');
  return lines.join('\n') + '\n';
}

export interface WriteOptions {
  /**
   * fsync the file before the rename (default true), so that it survives a
   * power cut. A caller that writes the config again before every use can
   * skip it: atomicity (no half-written file under the name) holds either way.
   */
  readonly durable?: boolean;
}

const fsyncAsync = promisify(fsync);

/**
 * Writes `<dir>/<name>.cfg` atomically (a temporary file in the same
 * directory, fsync unless `durable: false`, rename), mode 0600, and returns
 * its path. Nothing is written when the spec is refused.
 *
 * Only the fsync, which can take milliseconds, leaves the event loop: the
 * other steps are page-cache operations on a small file, each cheaper done
 * here than as a round trip through libuv's thread pool (five of them cost
 * a CreateDomain half a millisecond).
 */
export async function writeGuestConfig(dir: string, spec: GuestSpec, opts: WriteOptions = {}): Promise<string> {
  const text = renderGuestConfig(spec);
  const real = realpathSync.native(absolutePath('dir', dir)); // one realpath(3), not an lstat per component
  const path = join(real, `${spec.name}.cfg`);
  const tmp = join(real, `.${spec.name}.cfg.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    let closed = false;
    try {
      writeFileSync(fd, text);
      if (opts.durable !== false) await fsyncAsync(fd);
      closeSync(fd);
      closed = true;
      renameSync(tmp, path);
    } catch (e) {
      if (!closed) closeSync(fd);
      rmSync(tmp, { force: true }); // the caller wants the write's error, not this one's
      throw e;
    }
  } catch (e) {
    // A full file system (no block, or no inode for the temporary file) or a
    // spent quota is the site's to fix, and the caller's to be told plainly.
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new NoSpaceError(real, code, { cause: e });
    throw e;
  }
  return path;
}

/** The name writeGuestConfig gives its temporary file before the rename. */
const TEMPORARY = /^\..+\.cfg\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporary files that a writer killed between open and rename
 * left in `dir`; returns their names. Run it before any writer starts.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const stale = (await readdir(dir)).filter((f) => TEMPORARY.test(f));
  for (const f of stale) await unlink(join(dir, f)).catch(() => undefined);
  return stale;
}

