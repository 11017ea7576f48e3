// The TLS libc problem: on 32-bit x86 under Xen, glibc's /lib/tls code uses
// negative %gs offsets that Xen must trap and emulate (slow). The fix is a
// libc built without them in a nosegneg directory (Debian/Ubuntu libc6-xen)
// plus an ld.so.conf.d line "hwcap 1 nosegneg" so ld.so picks it; the old
// workaround was moving /lib/tls aside.

import { machine } from 'node:os';
import type { Root } from '../fsroot.js';
import type { Check } from '../types.js';
import { error, ok, warning } from './verdict.js';

const TLS_LIBS = ['lib/tls/libc.so.6', 'lib/tls/i686/cmov/libc.so.6'];
const NOSEGNEG_LIBS = ['lib/i686/nosegneg/libc.so.6', 'lib/i386-linux-gnu/i686/nosegneg/libc.so.6'];
const HWCAP = /^\s*hwcap\s+\d+\s+nosegneg\s*$/m;

export function is32BitX86(arch: string): boolean {
  return /^(i[3-6]86|ia32|x86)$/.test(arch);
}

/** dpkg's native architecture (first line of var/lib/dpkg/arch), or uname when judging this very machine. */
export async function readArch(root: Root, given: string | undefined): Promise<string | null> {
  if (given !== undefined) return given;
  const dpkg = (await root.text('var/lib/dpkg/arch'))?.split('\n')[0]?.trim();
  if (dpkg) return dpkg;
  return root.at('.') === '/' ? machine() : null;
}

async function firstFile(root: Root, rels: readonly string[]): Promise<string | null> {
  for (const rel of rels) if (await root.isFile(rel)) return rel;
  return null;
}

async function hasHwcapLine(root: Root): Promise<boolean> {
  for (const name of await root.list('etc/ld.so.conf.d')) {
    if (!name.endsWith('.conf')) continue;
    if (HWCAP.test((await root.text(`etc/ld.so.conf.d/${name}`)) ?? '')) return true;
  }
  return false;
}

const FIX = 'install libc6-xen (apt install libc6-xen), or as the old workaround move it aside (mv /lib/tls /lib/tls.disabled)';

export async function checkTls(root: Root, givenArch: string | undefined): Promise<Check> {
  const arch = await readArch(root, givenArch);
  if (arch === null) {
    return warning('tls-libc', 'could not tell the architecture (no /var/lib/dpkg/arch): if this is 32-bit x86, install libc6-xen');
  }
  if (!is32BitX86(arch)) return ok('tls-libc', `${arch} userland: the TLS libc problem only affects 32-bit x86`);
  const tls = await firstFile(root, TLS_LIBS);
  const nosegneg = await firstFile(root, NOSEGNEG_LIBS);
  const hwcap = await hasHwcapLine(root);
  if (nosegneg !== null && hwcap) return ok('tls-libc', `32-bit x86 (${arch}): the nosegneg libc /${nosegneg} is installed and enabled`);
  if (tls === null) return ok('tls-libc', `32-bit x86 (${arch}): no /lib/tls libc, so Xen has no TLS segment accesses to emulate`);
  if (nosegneg !== null) {
    return warning(
      'tls-libc',
      `32-bit x86 (${arch}): /${nosegneg} is installed but no /etc/ld.so.conf.d/*.conf has "hwcap 1 nosegneg", so /${tls} is still used: reinstall libc6-xen (apt install --reinstall libc6-xen) and run ldconfig`,
    );
  }
  return error('tls-libc', `32-bit x86 (${arch}): /${tls} will run under Xen's slow segment emulation (the TLS libc problem): ${FIX}`);
}
