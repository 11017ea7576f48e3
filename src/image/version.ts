// Kernel version order as dpkg compares versions (verrevcmp), enough for the
// names in /boot. src/host has its own copy: layers import nothing from each other.
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

function compare(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j]);
      if (d !== 0) return Math.sign(d);
      i++;
      j++;
    }
    let x = '';
    let y = '';
    while (isDigit(a[i])) x += a[i++];
    while (isDigit(b[j])) y += b[j++];
    const d = Number(x || '0') - Number(y || '0');
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** For sort(): newest first. */
export function compareKernels(a: string, b: string): number {
  return compare(b, a);
}
