// Version order for kernel and hypervisor file names: dpkg's (verrevcmp), the
// order grub-mkconfig's version_find_latest uses on Debian. A leaf of no
// layer (src/lib imports nothing of the project): src/host orders boot
// entries by it and src/image an image's kernels. Text runs compare
// character by character with letters before other signs and "~" before
// everything, even the end; digit runs compare as numbers.

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

export function compareVersions(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j]);
      if (d !== 0) return Math.sign(d);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let first = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (first === 0) first = Math.sign(a.charCodeAt(i) - b.charCodeAt(j));
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (first !== 0) return first;
  }
  return 0;
}

/** Newest first. */
export function newestFirst<T>(items: readonly T[], version: (t: T) => string): T[] {
  return [...items].sort((x, y) => compareVersions(version(y), version(x)));
}
