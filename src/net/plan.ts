// reconcile()'s decisions, as pure functions of the kernel's view and the
// running guests: one pass over the routes, one map lookup per guest, and
// testable without a kernel.
import { formatAddress, networkOf } from './ipv4.js';
import type { Link, Route } from './kernel.js';
import type { Change } from './types.js';
import type { Guest, Network } from './validate.js';

/**
 * Which routes are domud's to remove: unicast /32 routes in the main table,
 * inside the range, on a vif* device. Anything else (the range as a whole,
 * routes on other devices, blackholes, other tables) is never touched.
 */
export function isOurs(net: Network, r: Route): r is Route & { dev: string } {
  return (
    r.type === 'unicast' &&
    r.prefix === 32 &&
    r.dev !== null &&
    r.dev.startsWith('vif') &&
    networkOf(r.dst, net.prefix) === net.network
  );
}

const key = (vif: string, addr: number) => `${vif} ${addr}`;

export interface RoutePlan {
  /** Stale routes to remove, in the kernel's order. */
  removals: Change[];
  /** "vif addr" of guests whose own route (metric 0, src dom0) is in place. */
  present: Set<string>;
}

/** Splits the main table into routes to remove and guest routes already right. */
export function planRoutes(net: Network, routes: readonly Route[], guests: readonly Guest[]): RoutePlan {
  const wanted = new Set(guests.map((g) => key(g.vif, g.addr)));
  const removals: Change[] = [];
  const present = new Set<string>();
  for (const r of routes) {
    if (!isOurs(net, r)) continue;
    const k = key(r.dev, r.dst);
    if (!wanted.has(k)) {
      const change: Change = { action: 'remove', what: 'route', vif: r.dev, address: formatAddress(r.dst) };
      if (r.metric !== 0) change.metric = r.metric;
      removals.push(change);
    } else if (r.metric === 0 && r.prefsrc === net.dom0) {
      present.add(k);
    }
  }
  return { removals, present };
}

/**
 * Guests that need a closer look. A guest whose route is in place and whose
 * vif carries the dom0 address is settled: the kernel flushes a device's
 * routes when it goes down and refuses routes through a down device, so the
 * route also proves the link is up. Its proxy_arp is not re-read; it is set
 * whenever anything else is (and is inert while forwarding is off).
 */
export function unsettled(plan: RoutePlan, dom0On: ReadonlySet<string>, guests: readonly Guest[]): Guest[] {
  return guests.filter((g) => !plan.present.has(key(g.vif, g.addr)) || !dom0On.has(g.vif));
}

/** What an unsettled guest is missing, in up()'s order; skip if its vif does not exist. */
export function planGuest(
  net: Network,
  links: ReadonlyMap<string, Link>,
  proxyArp: ReadonlySet<string>,
  plan: RoutePlan,
  g: Guest,
): Change[] {
  const link = links.get(g.vif);
  const base = { vif: g.vif, address: g.address };
  if (link === undefined) return [{ action: 'skip', what: 'vif', ...base }];
  const changes: Change[] = [];
  if (!link.inet.some((a) => a.local === net.dom0)) changes.push({ action: 'add', what: 'address', ...base });
  if (!link.up) changes.push({ action: 'add', what: 'link', ...base });
  if (!proxyArp.has(g.vif)) changes.push({ action: 'add', what: 'proxy_arp', ...base });
  if (!plan.present.has(key(g.vif, g.addr))) changes.push({ action: 'add', what: 'route', ...base });
  return changes;
}
