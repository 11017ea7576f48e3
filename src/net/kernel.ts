// The kernel's view, from `ip -j` output, reduced to what src/net decides on.
// Entries that are not IPv4 or not shaped as iproute2 documents are skipped:
// they can never be one of ours.
import { parseAddress, parseCidr } from './ipv4.js';

export interface Link {
  name: string;
  /** Administratively up (IFF_UP), what `ip link set up` sets. */
  up: boolean;
  /** IPv4 addresses on the link. */
  inet: Array<{ local: number; prefix: number }>;
}

export interface Route {
  /** Destination network; host bits as ip printed them. */
  dst: number;
  prefix: number;
  dev: string | null;
  prefsrc: number | undefined;
  metric: number;
  /** unicast, blackhole, unreachable, local, ... */
  type: string;
  /** main, local, or a number; ip leaves the field out for main. */
  table: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null;

/** `ip -j addr show` → links by name. */
export function parseLinks(entries: unknown[]): Map<string, Link> {
  const links = new Map<string, Link>();
  for (const e of entries) {
    if (!isObject(e) || typeof e.ifname !== 'string') continue;
    const flags = Array.isArray(e.flags) ? e.flags : [];
    const inet: Link['inet'] = [];
    for (const a of Array.isArray(e.addr_info) ? e.addr_info : []) {
      if (!isObject(a) || a.family !== 'inet' || typeof a.local !== 'string') continue;
      const local = parseAddress(a.local);
      if (local === undefined || typeof a.prefixlen !== 'number') continue;
      inet.push({ local, prefix: a.prefixlen });
    }
    links.set(e.ifname, { name: e.ifname, up: flags.includes('UP'), inet });
  }
  return links;
}

/** `ip -j route show table main` → IPv4 routes; `default` is left out (it is not a prefix anyone configures by accident). */
export function parseRoutes(entries: unknown[]): Route[] {
  const routes: Route[] = [];
  for (const e of entries) {
    if (!isObject(e) || typeof e.dst !== 'string') continue;
    const cidr = parseCidr(e.dst);
    if (cidr === undefined) continue;
    routes.push({
      dst: cidr.address,
      prefix: cidr.prefix,
      dev: typeof e.dev === 'string' ? e.dev : null,
      prefsrc: typeof e.prefsrc === 'string' ? parseAddress(e.prefsrc) : undefined,
      metric: typeof e.metric === 'number' ? e.metric : 0,
      type: typeof e.type === 'string' ? e.type : 'unicast',
      table: typeof e.table === 'string' ? e.table : 'main',
    });
  }
  return routes;
}

/** `ip -4 -j netconf show` → names of interfaces with proxy ARP on (netconf calls it proxy_neigh). */
export function parseProxyArp(entries: unknown[]): Set<string> {
  const on = new Set<string>();
  for (const e of entries) {
    if (!isObject(e) || e.family !== 'inet' || typeof e.interface !== 'string') continue;
    // iproute2 prints a boolean; older releases printed "on"/"off".
    if (e.proxy_neigh === true || e.proxy_neigh === 'on') on.add(e.interface);
  }
  return on;
}

/** The devices that carry dom0's address, from the local table's `local <dom0>` routes. */
export function dom0Devices(routes: readonly Route[], dom0: number): Set<string> {
  const devs = new Set<string>();
  for (const r of routes) if (r.table === 'local' && r.type === 'local' && r.dst === dom0 && r.dev !== null) devs.add(r.dev);
  return devs;
}
