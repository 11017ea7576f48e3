// Reading the boot menu back: which entries load a Xen hypervisor, and which
// kernel they hand to it. GRUB 2 (grub.cfg: multiboot[2]/module[2], or arm64's
// xen_hypervisor/xen_module) and GRUB legacy (menu.lst: kernel xen.gz, module
// vmlinuz) both count; an entry is known by the file names it loads.

import path from 'node:path';
import type { Root } from './fsroot.js';
import { splitWords } from './grub/quote.js';

export interface MenuEntry {
  readonly title: string;
  /** Base name of the multiboot image, null when the entry does not load one. */
  readonly hypervisor: string | null;
  /** Base name of the first module (the dom0 kernel), null when there is none. */
  readonly kernel: string | null;
}

export interface BootMenu {
  /** Host path of the menu file read, e.g. "/boot/grub/grub.cfg". */
  readonly file: string;
  readonly entries: MenuEntry[];
}

const HYPERVISOR_GRUB2 = new Set(['multiboot', 'multiboot2', 'xen_hypervisor']);
const MODULE_GRUB2 = new Set(['module', 'module2', 'xen_module']);

/** The first argument that is not an option (--nounzip, --type=...). */
function fileArg(words: string[]): string | null {
  const f = words.slice(1).find((w) => !w.startsWith('--'));
  return f === undefined ? null : path.posix.basename(f);
}

interface Building {
  title: string;
  hypervisor: string | null;
  kernel: string | null;
}

export function parseGrubCfg(text: string): MenuEntry[] {
  const entries: MenuEntry[] = [];
  let cur: Building | null = null;
  for (const raw of text.split('\n')) {
    const words = splitWords(raw.trim());
    const cmd = words[0];
    if (cmd === undefined || cmd.startsWith('#')) continue;
    if (cmd === 'menuentry') {
      cur = { title: words[1] ?? '', hypervisor: null, kernel: null };
      entries.push(cur);
    } else if (cmd === '}') {
      cur = null;
    } else if (cur !== null && HYPERVISOR_GRUB2.has(cmd)) {
      cur.hypervisor ??= fileArg(words);
    } else if (cur !== null && MODULE_GRUB2.has(cmd)) {
      cur.kernel ??= fileArg(words);
    }
  }
  return entries;
}

export function parseMenuLst(text: string): MenuEntry[] {
  const entries: MenuEntry[] = [];
  let cur: Building | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [cmd, ...rest] = line.split(/[\s=]+/);
    if (cmd === 'title') {
      cur = { title: line.replace(/^title[\s=]+/, ''), hypervisor: null, kernel: null };
      entries.push(cur);
    } else if (cur !== null && cmd === 'kernel' && rest[0] !== undefined && /^xen/.test(path.posix.basename(rest[0]))) {
      cur.hypervisor = path.posix.basename(rest[0]);
    } else if (cur !== null && cmd === 'module' && rest[0] !== undefined) {
      cur.kernel ??= path.posix.basename(rest[0]);
    }
  }
  return entries;
}

/** GRUB 2's menu when there is one, else GRUB legacy's; null when neither exists. */
export async function readBootMenu(root: Root): Promise<BootMenu | null> {
  const cfg = await root.text('boot/grub/grub.cfg');
  if (cfg !== null) return { file: '/boot/grub/grub.cfg', entries: parseGrubCfg(cfg) };
  const lst = await root.text('boot/grub/menu.lst');
  if (lst !== null) return { file: '/boot/grub/menu.lst', entries: parseMenuLst(lst) };
  return null;
}
