// checkHost: every dom0-readiness verdict, in a fixed order, from the files
// below `root` plus what the daemon probed. Nothing here writes anything.

import { findHypervisors, findXenKernels } from './boot.js';
import { readBootMenu } from './bootmenu.js';
import { checkBootEntries, checkBootFiles, checkKernels } from './checks/boot.js';
import { checkHypervisor } from './checks/hypervisor.js';
import { checkForwarding, checkRange, checkVifRoute, checkXendNetworkScript } from './checks/network.js';
import { checkTls } from './checks/tls.js';
import { checkToolstack } from './checks/toolstack.js';
import { Root } from './fsroot.js';
import type { Check, HostCheckOptions } from './types.js';

export async function checkHost(opts: HostCheckOptions): Promise<Check[]> {
  const root = new Root(opts.root);
  const [hypervisors, kernels, menu] = await Promise.all([findHypervisors(root), findXenKernels(root), readBootMenu(root)]);
  return Promise.all([
    checkHypervisor(root),
    checkToolstack(root, opts.toolstack),
    checkBootFiles(hypervisors),
    checkKernels(kernels),
    checkBootEntries(menu, hypervisors, kernels),
    checkTls(root, opts.arch),
    checkRange(root, opts.range, opts.overlaps),
    checkForwarding(root, opts.forwarding),
    checkXendNetworkScript(root),
    checkVifRoute(root),
  ]);
}
