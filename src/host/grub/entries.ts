// GRUB 2 menu entries that boot each Xen hypervisor with each dom0-capable
// kernel, newest first, in the shape of Debian's /etc/grub.d/20_linux_xen
// (multiboot2 + module2, `module2 --nounzip` for the initrd). Only Xen entries
// are written: the stock 10_linux keeps the normal ones, so the machine dual
// boots. Every value is single-quoted (see quote.ts).

import { findHypervisors, findXenKernels, type Hypervisor, type XenKernel } from '../boot.js';
import { Root } from '../fsroot.js';
import { quote } from './quote.js';

export type XenLoader = 'auto' | 'multiboot' | 'multiboot2';

export interface GrubSettings {
  /** GRUB_DISTRIBUTOR, e.g. "Debian"; titles read "<it> GNU/Linux, with Xen …". */
  readonly distributor: string;
  /** Hypervisor command line, split on white space into words. */
  readonly xenOptions: string;
  /** dom0 kernel command line after `root=… ro`, split on white space. */
  readonly dom0Options: string;
  /** What goes after root=, e.g. "UUID=…" or "/dev/sda1"; empty for no root= word. */
  readonly rootDevice: string;
  /** Where /boot is as GRUB sees it: "/boot", or "" when /boot is its own partition. */
  readonly bootPath: string;
  /** Lines from grub-mkconfig_lib's prepare_grub_to_access_device (insmod/search), put in every entry as given. */
  readonly prepare: string;
  /** auto: multiboot2 for Xen 4.9 and later (the first with multiboot2), multiboot before. */
  readonly loader: XenLoader;
}

export const DEFAULT_SETTINGS: GrubSettings = {
  distributor: 'Debian',
  xenOptions: '',
  dom0Options: '',
  rootDevice: '',
  bootPath: '/boot',
  prepare: '',
  loader: 'auto',
};

export interface XenEntry {
  readonly title: string;
  readonly id: string;
  readonly hypervisor: Hypervisor;
  readonly kernel: XenKernel;
  readonly loader: 'multiboot' | 'multiboot2';
}

function loaderFor(h: Hypervisor, wanted: XenLoader): 'multiboot' | 'multiboot2' {
  if (wanted !== 'auto') return wanted;
  const m = /^(\d+)\.(\d+)/.exec(h.version);
  if (m === null) return 'multiboot2';
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 4 || (major === 4 && minor >= 9) ? 'multiboot2' : 'multiboot';
}

/** Hypervisors outer, kernels inner, both newest first: the first entry is the newest pair. */
export function planXenEntries(hypervisors: readonly Hypervisor[], kernels: readonly XenKernel[], s: GrubSettings): XenEntry[] {
  return hypervisors.flatMap((hypervisor) =>
    kernels.map((kernel) => ({
      title: `${s.distributor} GNU/Linux, with Xen ${hypervisor.version} and Linux ${kernel.version}`,
      id: `domud-xen-${hypervisor.version}-${kernel.version}`,
      hypervisor,
      kernel,
      loader: loaderFor(hypervisor, s.loader),
    })),
  );
}

const words = (options: string, field: string): string[] => options.split(/[ \t]+/).filter((w) => w !== '').map((w) => quote(w, field));

function classOf(distributor: string): string {
  return distributor.split(' ')[0]!.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

function renderEntry(e: XenEntry, s: GrubSettings): string {
  const dir = s.bootPath.replace(/\/+$/, '');
  const mod = e.loader === 'multiboot2' ? 'module2' : 'module';
  const kernelArgs = [...(s.rootDevice ? [quote(`root=${s.rootDevice}`, 'root device')] : []), 'ro', ...words(s.dom0Options, 'dom0 options')];
  const lines = [
    `menuentry ${quote(e.title, 'title')} --class ${quote(classOf(s.distributor), 'distributor')} --class gnu-linux --class gnu --class os --class xen $menuentry_id_option ${quote(e.id, 'id')} {`,
    '\tinsmod gzio',
    ...s.prepare.split('\n').filter((l) => l.trim() !== '').map((l) => `\t${l.trim()}`),
    `\techo\t${quote(`Loading Xen ${e.hypervisor.version} ...`, 'hypervisor')}`,
    [`\t${e.loader}`, quote(`${dir}/${e.hypervisor.file}`, 'hypervisor'), 'placeholder', ...words(s.xenOptions, 'Xen options')].join('\t'),
    `\techo\t${quote(`Loading Linux ${e.kernel.version} ...`, 'kernel')}`,
    [`\t${mod}`, quote(`${dir}/${e.kernel.file}`, 'kernel'), 'placeholder', ...kernelArgs].join('\t'),
  ];
  if (e.kernel.initrd !== null) {
    lines.push(`\techo\t'Loading initial ramdisk ...'`, `\t${mod}\t--nounzip\t${quote(`${dir}/${e.kernel.initrd}`, 'initrd')}`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function renderXenEntries(entries: readonly XenEntry[], s: GrubSettings): string {
  return entries.map((e) => renderEntry(e, s)).join('');
}

/** The menu text for <rootDir>/boot; empty when there is no hypervisor or no dom0 kernel. */
export async function generateXenEntries(rootDir: string, s: GrubSettings): Promise<{ entries: XenEntry[]; script: string }> {
  const root = new Root(rootDir);
  const [hypervisors, kernels] = await Promise.all([findHypervisors(root), findXenKernels(root)]);
  const entries = planXenEntries(hypervisors, kernels, s);
  return { entries, script: renderXenEntries(entries, s) };
}
