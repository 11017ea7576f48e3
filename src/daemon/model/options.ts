// CreateDomain's options, as the model sees them: plain typed values. The bus
// layer has already checked each key's D-Bus type; this checks their meaning,
// before anything is leased or written.
import { isAbsolute } from 'node:path';
import { InvalidArgumentError } from './errors.js';
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
}

export function checkOptions(o: CreateOptions, d: Defaults): CheckedOptions {
  if (o.disks && o.disks.length > LIMITS.disks) throw new InvalidArgumentError(`Option "disks" takes at most ${LIMITS.disks} disks`);
  const settings: DomainSettings = {
    memory: inRange('memory', o.memory ?? d.memory, LIMITS.memory),
    vcpus: inRange('vcpus', o.vcpus ?? d.vcpus, LIMITS.vcpus),
    kernel: path('kernel', o.kernel ?? d.kernel, false),
    ramdisk: path('ramdisk', o.ramdisk ?? d.ramdisk, true),
    extra: text('extra', o.extra ?? '', LIMITS.cmdline),
    root: text('root', o.root ?? '', LIMITS.cmdline),
    disks: (o.disks ?? []).map((x, i) => text(`disks[${i}]`, x, LIMITS.disk)),
  };
  if (o.address !== undefined && !IPV4.test(o.address)) {
    throw new InvalidArgumentError(`Option "address" must be a dotted IPv4 address, got ${JSON.stringify(o.address)}`);
  }
  return { settings, address: o.address, mac: o.mac === undefined ? undefined : checkMac(o.mac) };
}
