// CreateDomain's options, as the model sees them: plain typed values. The bus
// layer has already checked each key's D-Bus type; this checks their meaning,
// before anything is leased or written.
import { isAbsolute } from 'node:path';
import { checkSshKey } from '../../image/index.js';
import { InvalidArgumentError } from './errors.js';
import { bytes } from './images.js';
import { checkMac } from './names.js';
import type { DomainSettings } from './domain.js';

export interface CreateOptions {
  memory?: number;
  vcpus?: number;
  kernel?: string;
  ramdisk?: string;
  extra?: string;
  root?: string;
  disks?: string[];
  address?: string;
  mac?: string;
  /** an image in state ready: the guest boots its own copy of it */
  image?: string;
  /** bytes, at least the image's size (only with image) */
  disk_size?: number | bigint;
  /** one OpenSSH public key line for root (only with image) */
  ssh_key?: string;
}

export interface Defaults {
  readonly memory: number;
  readonly vcpus: number;
  readonly kernel: string;
  readonly ramdisk: string;
}

export const LIMITS = {
  memory: [16, 1024 * 1024], // MiB: 16 MiB .. 1 TiB
  vcpus: [1, 512],
  path: 4095, // PATH_MAX - 1
  cmdline: 1024, // well inside x86's 2048-byte kernel command line with ip= added
  disks: 16,
  disk: 1024,
} as const;

function inRange(key: string, v: number, [lo, hi]: readonly [number, number]): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new InvalidArgumentError(`Option "${key}" must be between ${lo} and ${hi}, got ${v}`);
  return v;
}

function path(key: string, v: string, mayBeEmpty: boolean): string {
  if (v === '' && mayBeEmpty) return v;
  if (!isAbsolute(v)) throw new InvalidArgumentError(`Option "${key}" must be an absolute path, got ${JSON.stringify(v)}`);
  if (v.length > LIMITS.path) throw new InvalidArgumentError(`Option "${key}" is longer than ${LIMITS.path} characters`);
  return v;
}

function text(key: string, v: string, max: number): string {
  if (v.length > max) throw new InvalidArgumentError(`Option "${key}" is longer than ${max} characters`);
  return v;
}

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

export interface CheckedOptions {
  readonly settings: DomainSettings;
  readonly address: string | undefined;
  readonly mac: string | undefined;
  /** what the guest's copy of its image gets besides its name and address */
  readonly disk?: { readonly diskSize: number | undefined; readonly sshKey: string | undefined } | undefined;
}

/** The image options against the kernel ones: one way to boot, and no disk options without a disk. */
function checkImageCombination(o: CreateOptions): void {
  if (o.image !== undefined) {
    for (const k of ['kernel', 'ramdisk', 'root'] as const) {
      if (o[k] !== undefined) throw new InvalidArgumentError(`Option "${k}" does not combine with "image": the guest boots the kernel in its image`);
    }
  } else {
    for (const k of ['disk_size', 'ssh_key'] as const) {
      if (o[k] !== undefined) throw new InvalidArgumentError(`Option "${k}" needs "image": it describes the guest's copy of an image`);
    }
  }
}

export function checkOptions(o: CreateOptions, d: Defaults): CheckedOptions {
  checkImageCombination(o);
  const image = o.image;
  if (o.disks && o.disks.length > LIMITS.disks) throw new InvalidArgumentError(`Option "disks" takes at most ${LIMITS.disks} disks`);
  const settings: DomainSettings = {
    memory: inRange('memory', o.memory ?? d.memory, LIMITS.memory),
    vcpus: inRange('vcpus', o.vcpus ?? d.vcpus, LIMITS.vcpus),
    kernel: image === undefined ? path('kernel', o.kernel ?? d.kernel, false) : '',
    ramdisk: image === undefined ? path('ramdisk', o.ramdisk ?? d.ramdisk, true) : '',
    extra: text('extra', o.extra ?? '', LIMITS.cmdline),
    root: text('root', o.root ?? '', LIMITS.cmdline),
    disks: (o.disks ?? []).map((x, i) => text(`disks[${i}]`, x, LIMITS.disk)),
    ...(image === undefined ? {} : { image }),
  };
  if (o.address !== undefined && !IPV4.test(o.address)) {
    throw new InvalidArgumentError(`Option "address" must be a dotted IPv4 address, got ${JSON.stringify(o.address)}`);
  }
  const disk =
    image === undefined
      ? undefined
      : { diskSize: o.disk_size === undefined ? undefined : bytes('disk_size', o.disk_size), sshKey: o.ssh_key === undefined ? undefined : checkSshKey(o.ssh_key) };
  return { settings, address: o.address, mac: o.mac === undefined ? undefined : checkMac(o.mac), disk };
}
