// What /boot holds for Xen, and whether the boot menu offers it (dual boot:
// the normal entries stay; Xen entries sit beside them).

import type { BootMenu, MenuEntry } from '../bootmenu.js';
import type { Hypervisor, XenKernel } from '../boot.js';
import type { Check } from '../types.js';
import { error, list, ok, warning } from './verdict.js';

export function checkBootFiles(hypervisors: readonly Hypervisor[]): Check {
  if (hypervisors.length === 0) {
    return error('xen-boot-files', 'no Xen hypervisor (xen*.gz) in /boot: install one (on Debian 12: apt install xen-system-amd64, which brings the hypervisor and the tools)');
  }
  return ok('xen-boot-files', `hypervisor in /boot: ${list(hypervisors.map((h) => h.file))}`);
}

export function checkKernels(kernels: readonly XenKernel[]): Check {
  if (kernels.length === 0) {
    return error(
      'xen-kernels',
      'no dom0-capable kernel in /boot (one whose config-<version> has CONFIG_XEN_DOM0=y, or a xen-* kernel): install one (Debian\'s stock linux-image-amd64 is dom0-capable)',
    );
  }
  const named = kernels.filter((k) => k.reason === 'name').map((k) => k.file);
  const all = list(kernels.map((k) => k.file));
  if (named.length > 0) {
    return warning('xen-kernels', `dom0 kernel in /boot: ${all}; ${list(named)} counted by name only: install its config-<version> so that CONFIG_XEN_DOM0=y can be confirmed`);
  }
  return ok('xen-kernels', `dom0 kernel in /boot: ${all}`);
}

const UPDATE = 'run update-grub (domud\'s /etc/grub.d/21_domud_xen adds "with Xen" entries beside the normal ones)';

function boots(e: MenuEntry, hypervisors: readonly Hypervisor[], kernels: readonly XenKernel[]): boolean {
  return hypervisors.some((h) => h.file === e.hypervisor) && kernels.some((k) => k.file === e.kernel);
}

export function checkBootEntries(menu: BootMenu | null, hypervisors: readonly Hypervisor[], kernels: readonly XenKernel[]): Check {
  if (menu === null) {
    return error('boot-entries', 'no boot menu found (/boot/grub/grub.cfg or /boot/grub/menu.lst): install GRUB (apt install grub-pc or grub-efi-amd64) and run update-grub');
  }
  if (hypervisors.length === 0 || kernels.length === 0) {
    return error('boot-entries', `${menu.file} cannot boot Xen until a hypervisor and a dom0 kernel are installed (see xen-boot-files and xen-kernels); then ${UPDATE}`);
  }
  const xen = menu.entries.filter((e) => boots(e, hypervisors, kernels));
  if (xen.length === 0) {
    return error('boot-entries', `${menu.file} has no entry that boots Xen ${hypervisors[0]!.version} with Linux ${kernels[0]!.version}: ${UPDATE}`);
  }
  const missing = kernels.filter((k) => !xen.some((e) => e.kernel === k.file)).map((k) => k.version);
  if (missing.length > 0) {
    return warning('boot-entries', `${menu.file} has no Xen entry for Linux ${list(missing)}: ${UPDATE}`);
  }
  return ok('boot-entries', `${menu.file} boots Xen: ${list(xen.map((e) => JSON.stringify(e.title)))}`);
}
