// An IPv4 range as the allocator sees it: parsed once with ip-address, then
// kept as integers so that every later check is plain arithmetic.
import { Address4, Address6 } from 'ip-address';
import { InvalidRangeError, type UnavailableReason } from './errors.js';

export const MIN_PREFIX = 16;
export const MAX_PREFIX = 30;

/** The integer form of a dotted IPv4 address, or undefined if `s` is not one. */
export function addressToInt(s: string): number | undefined {
  if (typeof s !== 'string' || s.includes('/') || !Address4.isValid(s)) return undefined;
  return Number(new Address4(s).bigInt());
}

/** A 32-bit address as dotted quad; plain arithmetic, as it runs once per lease when all are listed. */
export function intToAddress(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export class Pool {
  readonly cidr: string;
  readonly network: string;
  readonly broadcast: string;
  readonly dom0: string;
  readonly netmask: string;
  readonly prefix: number;
  /** Leasable addresses: hosts minus dom0. */
  readonly total: number;
  /** Integer bounds: network, and the first and last leasable address. */
  readonly networkInt: number;
  readonly first: number;
  readonly last: number;

  private constructor(a: Address4) {
    this.prefix = a.subnetMask;
    const start = a.startAddress();
    this.networkInt = Number(start.bigInt());
    this.network = start.correctForm();
    this.broadcast = a.endAddress().correctForm();
    this.cidr = `${this.network}/${this.prefix}`;
    this.netmask = intToAddress(Number((0xffffffffn << BigInt(32 - this.prefix)) & 0xffffffffn));
    this.dom0 = intToAddress(this.networkInt + 1);
    this.first = this.networkInt + 2;
    this.last = Number(a.endAddress().bigInt()) - 1;
    this.total = this.last - this.first + 1;
  }

  /** Throws InvalidRangeError saying whether the syntax, the family or the prefix is wrong. */
  static parse(cidr: string): Pool {
    if (typeof cidr !== 'string') throw new InvalidRangeError(String(cidr), 'syntax', 'not a string');
    if (Address6.isValid(cidr)) {
      throw new InvalidRangeError(cidr, 'ipv6', 'an IPv6 range; domud leases IPv4 addresses only');
    }
    const slash = cidr.indexOf('/');
    if (slash < 0) throw new InvalidRangeError(cidr, 'syntax', 'not in CIDR notation (missing /prefix)');
    if (!Address4.isValid(cidr)) {
      throw new InvalidRangeError(cidr, 'syntax', 'not an IPv4 CIDR such as 172.20.216.0/24');
    }
    const a = new Address4(cidr);
    if (a.subnetMask < MIN_PREFIX || a.subnetMask > MAX_PREFIX) {
      throw new InvalidRangeError(cidr, 'prefix', `prefix /${a.subnetMask} is outside /${MIN_PREFIX} to /${MAX_PREFIX}`);
    }
    return new Pool(a);
  }

  /** True when `address` lies in the range at all (network and broadcast included). */
  contains(address: string): boolean {
    const n = addressToInt(address);
    return n !== undefined && n >= this.networkInt && n <= this.last + 1;
  }

  /** Why the integer address `n` cannot be leased from this pool, or undefined if it can. */
  unleasable(n: number): Exclude<UnavailableReason, 'taken'> | undefined {
    if (n < this.networkInt || n > this.last + 1) return 'outside';
    if (n === this.networkInt) return 'network';
    if (n === this.last + 1) return 'broadcast';
    if (n === this.networkInt + 1) return 'dom0';
    return undefined;
  }
}
