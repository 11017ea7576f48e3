// Input checks that run before any command: a refused vif route or option
// changes nothing on the host.
import { InvalidBindingError, NetConfigError } from './errors.js';
import { formatAddress, maskOf, networkOf, parseAddress, parseCidr } from './ipv4.js';
import type { VifRoute } from './types.js';

/**
 * vif names: "vif" and at most 12 more characters from a safe set (IFNAMSIZ
 * is 16 with the NUL). Xen names them vif<domid>.<devid>; the prefix is also
 * what marks the routes reconcile() may remove, so both rules agree.
 */
export const VIF_NAME = /^vif[A-Za-z0-9_.-]{1,12}$/;
const NETNS_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export interface Network {
  readonly range: string;
  readonly network: number;
  readonly prefix: number;
  readonly broadcast: number;
  readonly dom0: number;
  readonly dom0Text: string;
}

export function checkNetwork(range: string, dom0: string): Network {
  const cidr = typeof range === 'string' && range.includes('/') ? parseCidr(range) : undefined;
  if (cidr === undefined) throw new NetConfigError('range', range, 'expected an IPv4 CIDR such as 172.20.216.0/24');
  if (cidr.prefix < 1 || cidr.prefix > 30) throw new NetConfigError('range', range, 'prefix must be /1 to /30');
  const network = networkOf(cidr.address, cidr.prefix);
  if (network !== cidr.address) {
    throw new NetConfigError('range', range, `host bits set; the network is ${formatAddress(network)}/${cidr.prefix}`);
  }
  const broadcast = (network | ~maskOf(cidr.prefix)) >>> 0;
  const d = parseAddress(dom0);
  if (d === undefined) throw new NetConfigError('dom0', dom0, 'expected an IPv4 address');
  if (networkOf(d, cidr.prefix) !== network || d === network || d === broadcast) {
    throw new NetConfigError('dom0', dom0, `must be a host address inside ${range}`);
  }
  return { range, network, prefix: cidr.prefix, broadcast, dom0: d, dom0Text: dom0 };
}

export function checkNetns(netns: string): string {
  if (typeof netns !== 'string' || !NETNS_NAME.test(netns)) {
    throw new NetConfigError('netns', String(netns), 'expected a network namespace name ([A-Za-z0-9_.-], not starting with . or -)');
  }
  return netns;
}

export interface Guest {
  vif: string;
  address: string;
  addr: number;
}

export function checkVifRoute(net: Network, b: VifRoute): Guest {
  const vif: unknown = b?.vif;
  if (typeof vif !== 'string' || !VIF_NAME.test(vif)) {
    throw new InvalidBindingError('vif', vif, 'expected an interface name like vif12.0 (vif + up to 12 of [A-Za-z0-9_.-])');
  }
  const address: unknown = b.address;
  const addr = typeof address === 'string' ? parseAddress(address) : undefined;
  if (addr === undefined) throw new InvalidBindingError('address', address, 'expected an IPv4 address');
  if (networkOf(addr, net.prefix) !== net.network) {
    throw new InvalidBindingError('address', address, `not inside ${net.range}`);
  }
  if (addr === net.network || addr === net.broadcast) {
    throw new InvalidBindingError('address', address, `is the network or broadcast address of ${net.range}`);
  }
  if (addr === net.dom0) throw new InvalidBindingError('address', address, 'is the dom0 address');
  return { vif, address: address as string, addr };
}

/** Every vif route checked, and no address bound to two vifs (two routes would fight). */
export function checkVifRoutes(net: Network, bindings: readonly VifRoute[]): Guest[] {
  if (!Array.isArray(bindings)) throw new InvalidBindingError('bindings', bindings, 'expected a list of bindings');
  const guests = bindings.map((b) => checkVifRoute(net, b));
  const seen = new Map<number, string>();
  for (const g of guests) {
    const other = seen.get(g.addr);
    if (other !== undefined) {
      const why = other === g.vif ? `listed twice for ${g.vif}` : `bound to both ${other} and ${g.vif}`;
      throw new InvalidBindingError('address', g.address, why);
    }
    seen.set(g.addr, g.vif);
  }
  return guests;
}
