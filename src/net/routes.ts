// Routes to guests without forwarding: each running guest is reached through
// a /32 host route on its vif, as Xen's vif-route does it, with `ip` alone.
import { NetConfigError, ReconcileError, VifNotFoundError } from './errors.js';
import { failureOf, Ip } from './ip.js';
import { formatAddress, networkOf, overlap, parseAddress } from './ipv4.js';
import { dom0Devices, parseLinks, parseProxyArp, parseRoutes } from './kernel.js';
import { isOurs, planGuest, planRoutes, unsettled } from './plan.js';
import { hostSysctl, netnsSysctl, type Sysctl } from './sysctl.js';
import type { VifRoute, Change, Overlap, Piece } from './types.js';
import { checkVifRoute, checkVifRoutes, checkNetns, checkNetwork, VIF_NAME, type Guest, type Network } from './validate.js';

export interface RoutesOptions {
  /** The guests' range, e.g. "172.20.216.0/24". */
  range: string;
  /** dom0's address in the range, put as a /32 on every vif. */
  dom0: string;
  /** Run every `ip` (and /proc/sys access) inside this network namespace. */
  netns?: string;
  /** The ip binary; default "ip" from PATH. */
  ip?: string;
}

export class Routes {
  readonly range: string;
  readonly dom0: string;
  readonly netns: string | undefined;
  private readonly net: Network;
  private readonly ip: Ip;
  private readonly sysctl: Sysctl;
  // up/down/reconcile run one at a time, so a reconcile never plans from a
  // kernel view that an up() in flight is changing.
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0; // operations started or waiting
  // The routing tables read ahead by prefetch(), for the next reconcile.
  private ahead: Promise<unknown[]> | null = null;

  constructor(opts: RoutesOptions) {
    this.net = checkNetwork(opts.range, opts.dom0);
    this.range = opts.range;
    this.dom0 = opts.dom0;
    this.netns = opts.netns === undefined ? undefined : checkNetns(opts.netns);
    const command = opts.ip ?? 'ip';
    if (typeof command !== 'string' || command === '') throw new NetConfigError('ip', String(command), 'expected a program name or path');
    this.ip = new Ip(command, this.netns);
    this.sysctl = this.netns === undefined ? hostSysctl() : netnsSysctl(this.ip, this.netns);
  }

  /**
   * Starts reading the routing tables now, for the next reconcile to use
   * (start-up reads them while the toolstack lists its domains). Any change
   * made through this object before then drops what was read.
   */
  prefetch(): void {
    this.ahead = this.ip.json(['route', 'show', 'table', 'all']);
    this.ahead.catch(() => undefined); // the reconcile that takes it sees the failure
  }

  /**
   * The names of the vif devices that exist now (like vif12.0). On the host
   * they are read from sysfs, not from a process: a create waits for this
   * read to learn its guest's id.
   */
  async vifs(): Promise<string[]> {
    return (await this.sysctl.devices()).filter((name) => VIF_NAME.test(name));
  }

  /** dom0 /32 on the vif, link up, proxy ARP on, and the host route; idempotent. */
  async up(b: VifRoute): Promise<void> {
    const g = checkVifRoute(this.net, b);
    this.ahead = null;
    return this.serial(async () => {
      // All at once: ip -batch runs its commands in the order written, so the
      // route (whose `src` needs dom0's address on the vif) comes after the
      // address though neither waits for the other's answer. proxy_arp, a
      // write of our own, comes last: ip has all three commands by then and
      // works on them while we write.
      const all = await Promise.allSettled([this.apply('address', g), this.apply('link', g), this.apply('route', g), this.apply('proxy_arp', g)]);
      for (const r of all) if (r.status === 'rejected') throw r.reason;
    });
  }

  /** Removes the guest's routes on the vif and dom0's address from it; a vif already gone is fine. */
  async down(b: VifRoute): Promise<void> {
    const g = checkVifRoute(this.net, b);
    this.ahead = null;
    return this.serial(async () => {
      let onVif;
      try {
        onVif = parseRoutes(await this.ip.json(['route', 'show', 'table', 'main', 'dev', g.vif])).map((r) => ({ ...r, dev: g.vif }));
      } catch (e) {
        if (failureOf(e) === 'no-device') return; // the vif went, and its routes and address with it
        throw e;
      }
      // Every route to the guest's /32 on this vif: ours, and vif-route's (metric 2) if it ran.
      const mine = onVif.filter((r) => isOurs(this.net, r) && r.dst === g.addr);
      for (const r of mine) {
        try {
          await this.ip.change(['route', 'del', `${g.address}/32`, 'dev', g.vif, 'metric', String(r.metric)]);
        } catch (e) {
          const why = failureOf(e);
          if (why === 'no-device') return;
          if (why !== 'no-route') throw e;
        }
      }
      // dom0's address goes with the vif's last guest route: removing it
      // earlier would take any other route with `src <dom0>` on the vif along.
      if (onVif.some((r) => isOurs(this.net, r) && r.dst !== g.addr)) return;
      try {
        await this.ip.change(['addr', 'del', `${this.dom0}/32`, 'dev', g.vif]);
      } catch (e) {
        const why = failureOf(e);
        if (why !== 'no-device' && why !== 'no-address') throw e;
      }
    });
  }

  /**
   * Makes the kernel match the running guests: adds each guest's missing
   * pieces and removes /32 routes in the range on vif* devices that belong to
   * no running guest. When nothing is missing it reads only the routing
   * tables (one `ip -j` call, whatever the number of guests); links and proxy
   * ARP are read (two more calls) only if some guest lacks its route or
   * address. Commands run only for changes. Returns what it
   * did; if some changes failed, throws ReconcileError after trying the rest.
   */
  async reconcile(running: readonly VifRoute[]): Promise<Change[]> {
    const guests = checkVifRoutes(this.net, running);
    return this.serial(async () => {
      // One dump of every table: the main table's routes, and the local
      // table's routes that say which devices carry dom0's address.
      const ahead = this.ahead;
      this.ahead = null;
      const all = parseRoutes(await (ahead ?? this.ip.json(['route', 'show', 'table', 'all'])));
      const routes = planRoutes(this.net, all.filter((r) => r.table === 'main'), guests);
      const changes = [...routes.removals];
      const look = unsettled(routes, dom0Devices(all, this.net.dom0), guests);
      if (look.length > 0) {
        // Only now the bigger reads: which vifs exist, are up, have proxy ARP.
        const [addrs, conf] = await Promise.all([this.ip.json(['addr', 'show']), this.ip.json(['-4', 'netconf', 'show'])]);
        const links = parseLinks(addrs);
        const proxyArp = parseProxyArp(conf);
        for (const g of look) changes.push(...planGuest(this.net, links, proxyArp, routes, g));
      }
      const done: Change[] = [];
      const failures: Array<{ change: Change; error: Error }> = [];
      const vanished = new Set<string>();
      for (const c of changes) {
        if (c.action === 'skip') {
          done.push(c);
          continue;
        }
        if (vanished.has(c.vif)) continue;
        try {
          if (c.action === 'remove') {
            const metric = c.metric === undefined ? [] : ['metric', String(c.metric)];
            await this.ip.change(['route', 'del', `${c.address}/32`, 'dev', c.vif, ...metric]);
          } else {
            await this.apply(c.what, { vif: c.vif, address: c.address, addr: parseAddress(c.address)! });
          }
          done.push(c);
        } catch (e) {
          if (c.action === 'remove' && (failureOf(e) === 'no-route' || failureOf(e) === 'no-device')) continue; // gone already
          if (e instanceof VifNotFoundError) {
            // The vif went away between reading and changing; it is no longer ours to set up.
            vanished.add(c.vif);
            done.push({ action: 'skip', what: 'vif', vif: c.vif, address: c.address });
            continue;
          }
          failures.push({ change: c, error: e as Error });
        }
      }
      if (failures.length > 0) throw new ReconcileError(done, failures);
      return done;
    });
  }

  /** Ends the `ip -batch` process that carries changes; the next change starts another. */
  close(): void {
    this.ip.close();
  }

  /** Whether /proc/sys/net/ipv4/ip_forward is on. Read only: domud never writes it. */
  async forwarding(): Promise<boolean> {
    return (await this.sysctl.readIpForward()).trim() !== '0';
  }

  /** Addresses and main-table routes outside the vifs that overlap the range (the default route aside). */
  async overlaps(): Promise<Overlap[]> {
    const [addrs, routes] = await Promise.all([this.ip.json(['addr', 'show']), this.ip.json(['route', 'show', 'table', 'main'])]);
    const range = { network: this.net.network, prefix: this.net.prefix };
    const found: Overlap[] = [];
    for (const link of parseLinks(addrs).values()) {
      if (VIF_NAME.test(link.name)) continue;
      for (const a of link.inet) {
        if (overlap(range, { network: a.local, prefix: a.prefix })) {
          found.push({ kind: 'address', dev: link.name, prefix: `${formatAddress(a.local)}/${a.prefix}` });
        }
      }
    }
    for (const r of parseRoutes(routes)) {
      if (r.prefix === 0 || (r.dev !== null && VIF_NAME.test(r.dev))) continue;
      if (overlap(range, { network: r.dst, prefix: r.prefix })) {
        found.push({ kind: 'route', dev: r.dev, prefix: `${formatAddress(networkOf(r.dst, r.prefix))}/${r.prefix}` });
      }
    }
    return found;
  }

  /** One piece of a guest's setup; a missing vif becomes VifNotFoundError. */
  private async apply(what: Piece, g: Guest): Promise<void> {
    try {
      switch (what) {
        case 'address':
          await this.ip.change(['addr', 'replace', `${this.dom0}/32`, 'dev', g.vif]);
          return;
        case 'link':
          await this.ip.change(['link', 'set', g.vif, 'up']);
          return;
        case 'proxy_arp':
          await this.sysctl.enableProxyArp(g.vif);
          return;
        case 'route':
          await this.ip.change(['route', 'replace', `${g.address}/32`, 'dev', g.vif, 'src', this.dom0]);
          return;
      }
    } catch (e) {
      if (failureOf(e) === 'no-device') throw new VifNotFoundError(g.vif, { cause: e });
      throw e;
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    // With nothing in flight the operation starts now, not a tick later: its
    // commands reach ip before the caller's next synchronous step, which can
    // then overlap with ip's work.
    const result = this.queued === 0 ? fn() : this.tail.then(fn);
    this.queued++;
    this.tail = result.catch(() => undefined).finally(() => this.queued--);
    return result;
  }
}

