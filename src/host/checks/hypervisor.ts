// Are we dom0? /sys/hypervisor/type says which hypervisor (if any) runs us;
// /proc/xen/capabilities (xenfs) says "control_d" only in the control domain.

import type { Root } from '../fsroot.js';
import type { Check } from '../types.js';
import { error, ok, warning } from './verdict.js';

const BOOT_XEN = 'reboot and pick a "with Xen" entry in the boot menu (see xen-boot-files, xen-kernels and boot-entries)';

export async function checkHypervisor(root: Root): Promise<Check> {
  const type = (await root.text('sys/hypervisor/type'))?.trim() ?? '';
  if (type === '') return error('hypervisor', `not running under Xen: ${BOOT_XEN}`);
  if (type !== 'xen') return error('hypervisor', `running under ${type}, not Xen: domud needs a Xen dom0; ${BOOT_XEN} on a machine that is not itself a guest`);
  const caps = await root.text('proc/xen/capabilities');
  if (caps === null) {
    return warning('hypervisor', 'running under Xen, but /proc/xen/capabilities is missing, so dom0 cannot be confirmed: mount xenfs (mount -t xenfs xenfs /proc/xen)');
  }
  if (!/\bcontrol_d\b/.test(caps)) {
    return error('hypervisor', 'running as a Xen guest (domU), not as dom0: install and run domud in dom0, the domain that controls the others');
  }
  return ok('hypervisor', 'running as dom0 under Xen');
}
