// src/host: is this machine ready to be a Xen dom0, and GRUB entries that
// make it one. Reads files below a root directory; knows nothing of D-Bus,
// src/xm or src/net (the daemon hands their findings in as plain data).

export { checkHost } from './check.js';
export type { Check, CheckId, CheckStatus, HostCheckOptions, Overlap, ToolstackProbe } from './types.js';
export { findHypervisors, findXenKernels, type Hypervisor, type XenKernel } from './boot.js';
export { DEFAULT_SETTINGS as DEFAULT_GRUB_SETTINGS, generateXenEntries, planXenEntries, renderXenEntries, type GrubSettings, type XenEntry } from './grub/entries.js';
export { readGrubDefaults, type GrubDefaults } from './grub/config.js';
export { GrubValueError, quote as grubQuote } from './grub/quote.js';
