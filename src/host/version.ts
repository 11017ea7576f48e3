// Version order for kernel and hypervisor file names, close to what
// `sort -V` and grub-mkconfig's version_find_latest give: digit runs compare
// as numbers, other runs as text, and "~" sorts before anything (pre-releases).

const RUNS = /\d+|\D+/g;

function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) continue;
    if (a[i] === '~') return -1;
    if (b[i] === '~') return 1;
    return a.charCodeAt(i) - b.charCodeAt(i);
  }
  // the shorter run is older, unless what follows it in the longer one is "~"
  if (a.length === b.length) return 0;
  return a.length < b.length ? (b[n] === '~' ? 1 : -1) : a[n] === '~' ? -1 : 1;
}

// digit runs of any length, without overflowing a double
function compareNumbers(a: string, b: string): number {
  const x = a.replace(/^0+/, '');
  const y = b.replace(/^0+/, '');
  return x.length !== y.length ? x.length - y.length : x < y ? -1 : x > y ? 1 : 0;
}

export function compareVersions(a: string, b: string): number {
  const ra = a.match(RUNS) ?? [];
  const rb = b.match(RUNS) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    let c: number;
    if (dx && dy) c = compareNumbers(x, y);
    else if (dx !== dy) c = dx ? 1 : -1; // a number outranks text at the same place ("6.1" > "6.rc")
    else c = compareText(x, y);
    if (c !== 0) return c;
  }
  return ra.length - rb.length;
}

/** Newest first. */
export function newestFirst<T>(items: readonly T[], version: (t: T) => string): T[] {
  return [...items].sort((x, y) => compareVersions(version(y), version(x)));
}
