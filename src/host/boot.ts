// What /boot holds for Xen: hypervisor images and dom0-capable kernels, found
// the way Debian's /etc/grub.d/20_linux_xen finds them, so that the host check
// and the GRUB generator agree on one list.

import type { Root } from './fsroot.js';
import { newestFirst } from '../lib/dpkg-version.js';

export interface Hypervisor {
  /** File name in /boot, e.g. "xen-4.17-amd64.gz". */
  readonly file: string;
  /** "4.17-amd64": the name without "xen-" and ".gz". */
  readonly version: string;
}

export interface XenKernel {
  readonly file: string;
  /** "6.1.0-x-amd64": the name after its first "-" before a digit. */
  readonly version: string;
  /** Why it counts: its config enables dom0, or (no config) its name says xen. */
  readonly reason: 'config' | 'name';
  /** Initial ramdisk file name in /boot, if there is one. */
  readonly initrd: string | null;
}

/** Backup and package-manager leftovers that grub-mkconfig ignores too. */
export function isGarbage(name: string): boolean {
  return /\.dpkg-[^/]*$|\.rpmsave$|\.rpmnew$|^README|\.sig$|~$/.test(name);
}

function isHypervisorName(name: string): boolean {
  return /^xen.*\.gz$/.test(name) && !/^xen-syms-|^xenpolicy-|\.config/.test(name) && !isGarbage(name);
}

export async function findHypervisors(root: Root, bootDir = 'boot'): Promise<Hypervisor[]> {
  const found: Hypervisor[] = [];
  for (const file of await root.list(bootDir)) {
    if (!isHypervisorName(file) || !(await root.isFile(`${bootDir}/${file}`))) continue;
    found.push({ file, version: file.replace(/\.gz$/, '').replace(/^xen-/, '') });
  }
  return newestFirst(found, (h) => h.version);
}

const DOM0_CONFIG = /^CONFIG_XEN_DOM0=y$|^CONFIG_XEN_PRIVILEGED_GUEST=y$/m;

function initrdNames(version: string): string[] {
  return [`initrd.img-${version}`, `initrd-${version}.img`, `initrd-${version}.gz`, `initrd-${version}`, `initramfs-${version}.img`];
}

export async function findXenKernels(root: Root, bootDir = 'boot'): Promise<XenKernel[]> {
  const names = await root.list(bootDir);
  const found: XenKernel[] = [];
  for (const file of names) {
    if (!/^(vmlinu[xz]|kernel)-/.test(file) || isGarbage(file) || !(await root.isFile(`${bootDir}/${file}`))) continue;
    const version = file.replace(/^[^0-9]*-/, '');
    const config = await root.text(`${bootDir}/config-${version}`);
    let reason: XenKernel['reason'] | null = null;
    if (config !== null) reason = DOM0_CONFIG.test(config) ? 'config' : null;
    else if (/(^|[-_.])xen([-_.0-9]|$)/.test(version)) reason = 'name';
    if (reason === null) continue;
    let initrd: string | null = null;
    for (const n of initrdNames(version)) {
      if (names.includes(n) && (await root.isFile(`${bootDir}/${n}`))) {
        initrd = n;
        break;
      }
    }
    found.push({ file, version, reason, initrd });
  }
  return newestFirst(found, (k) => k.version);
}
