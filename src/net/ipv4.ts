// IPv4 arithmetic on unsigned 32-bit numbers: parsing is strict (four
// decimal octets, no leading zeros) because these strings end up in `ip`
// argument vectors and in /proc paths, and "010.0.0.1" means different things
// to different parsers.

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** The address as a uint32, or undefined if it is not a strict dotted quad. */
export function parseAddress(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatAddress(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export interface Cidr {
  network: number;
  prefix: number;
}

/** "a.b.c.d/p" (or a bare address, meaning /32) → network and prefix; host bits are kept out. */
export function parseCidr(text: string): { address: number; prefix: number } | undefined {
  const slash = text.indexOf('/');
  const addr = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) return undefined;
  if (slash < 0) return { address: addr, prefix: 32 };
  const p = text.slice(slash + 1);
  if (!/^(?:[0-9]|[12][0-9]|3[0-2])$/.test(p)) return undefined;
  return { address: addr, prefix: Number(p) };
}

export function networkOf(address: number, prefix: number): number {
  return (address & maskOf(prefix)) >>> 0;
}

/** Two prefixes overlap when one contains the other. */
export function overlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return networkOf(a.network, p) === networkOf(b.network, p);
}
