/** A running guest's route as src/net sees it: its backend interface (vif) in dom0 and the guest's address behind it. */
export interface VifRoute {
  vif: string;
  address: string;
}

/** What up() sets on a guest's vif; reconcile() reports each piece it fixed. */
export type Piece = 'address' | 'link' | 'proxy_arp' | 'route';

/**
 * One thing reconcile() did (or could not do), for the log:
 * - add: a piece of a running guest's setup was missing and is now in place;
 * - remove: a /32 route in the range on a vif* device belonged to no running guest;
 * - skip: a running guest's vif does not exist (yet), so nothing could be set.
 */
export type Change =
  | { action: 'add'; what: Piece; vif: string; address: string }
  | { action: 'remove'; what: 'route'; vif: string; address: string; metric?: number }
  | { action: 'skip'; what: 'vif'; vif: string; address: string };

/** Something on the host, outside the vifs, that overlaps the range. */
export interface Overlap {
  kind: 'address' | 'route';
  /** The interface it is on; null for routes without one (blackhole, unreachable, prohibit). */
  dev: string | null;
  /** CIDR, e.g. "172.20.0.1/16" for an address, "172.20.0.0/16" for a route. */
  prefix: string;
}
