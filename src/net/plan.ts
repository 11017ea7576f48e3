// reconcile()'s decision, as a pure function of the kernel's view and the
// running guests: cheap (one pass over routes, one map lookup per guest) and
// testable without a kernel.
import { formatAddress, networkOf } from './ipv4.js';
import type { Link, Route } from './kernel.js';
import type { Change } from './types.js';
import type { Guest, Network } from './validate.js';

export interface KernelView {
  links: Map<string, Link>;
  routes: Route[];
  proxyArp: Set<string>;
}

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

/** Removals first (so a replaced route cannot be removed afterwards), then each guest's missing pieces in up()'s order. */
export function plan(net: Network, view: KernelView, guests: readonly Guest[]): Change[] {
  const changes: Change[] = [];
  const wanted = new Set(guests.map((g) => `${g.vif} ${g.addr}`));
  const present = new Set<string>();
  for (const r of view.routes) {
    if (!isOurs(net, r)) continue;
    const key = `${r.dev} ${r.dst}`;
    if (!wanted.has(key)) {
      const change: Change = { action: 'remove', what: 'route', vif: r.dev, address: formatAddress(r.dst) };
      if (r.metric !== 0) change.metric = r.metric;
      changes.push(change);
    } else if (r.metric === 0 && r.prefsrc === net.dom0) {
      present.add(key);
    }
  }
  for (const g of guests) {
    const link = view.links.get(g.vif);
    const base = { vif: g.vif, address: g.address };
    if (link === undefined) {
      changes.push({ action: 'skip', what: 'vif', ...base });
      continue;
    }
    if (!link.inet.some((a) => a.local === net.dom0 && a.prefix === 32)) changes.push({ action: 'add', what: 'address', ...base });
    if (!link.up) changes.push({ action: 'add', what: 'link', ...base });
    if (!view.proxyArp.has(g.vif)) changes.push({ action: 'add', what: 'proxy_arp', ...base });
    if (!present.has(`${g.vif} ${g.addr}`)) changes.push({ action: 'add', what: 'route', ...base });
  }
  return changes;
}
