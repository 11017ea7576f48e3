// What every part of the model shares: the dependencies, the records of the
// domains worth keeping in memory, the locks, and the few primitives that
// read and change a record. reads.ts, lifecycle.ts, recovery.ts and
// reconcile.ts work on one ModelState; manager.ts puts them behind one class.
import type { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Allocator, Lease } from '../../ipam/index.js';
import type { Routes, VifRoute } from '../../net/index.js';
import type { Toolstack } from '../../xm/index.js';
import { type Domain, type DomainSettings, type DomainState, type Phase, type RuntimeChange, decodeAttrs, encodeAttrs, vifOf } from './domain.js';
import { NoSuchDomainError } from './errors.js';
import type { GuestDisks } from './images.js';
import { Gate, KeyedMutex } from './mutex.js';
import type { Defaults } from './options.js';

export interface ManagerEvents {
  domainNew: [domain: Domain];
  domainRemoved: [name: string];
  leaseAcquired: [address: string, name: string];
  leaseReleased: [address: string, name: string];
  domainChanged: [domain: Domain, change: RuntimeChange];
  leasesInUse: [count: number];
}

/** What the model asks of src/net: a guest's route up and down, all of them reconciled, and which vifs exist. */
export type RouteTable = Pick<Routes, 'up' | 'down' | 'reconcile' | 'vifs'>;

export interface ManagerDeps {
  readonly allocator: Allocator;
  readonly toolstack: Toolstack;
  readonly routes: RouteTable;
  readonly defaults: Defaults;
  readonly configDir: string; // where guest configs are written
  readonly log: Logger;
  /**
   * How long a toolstack create can still be running after the daemon that
   * started it died (its own timeout and kill grace): the toolstack runs in
   * its own process group, so a SIGKILLed daemon's `xl create` goes on.
   */
  readonly createGraceMs: number;
  /** Guests' copies of images; without it CreateDomain's image option is refused. */
  readonly disks?: GuestDisks | undefined;
}

/** What a record keeps of its lease: the stored attrs are decoded into the record's own fields. */
type Held = Pick<Lease, 'address' | 'mac' | 'acquiredAt'>;

export interface Record {
  name: string;
  lease: Held;
  settings: DomainSettings;
  phase: Phase;
  domainId: number;
  state: DomainState;
  /** Bumped by every lifecycle call, so a reconcile that read the toolstack
   * before the call never overwrites what the call has since learnt. */
  generation: number;
  /**
   * The id of the guest that a waited shutdown of domud's saw stop. Xen
   * keeps listing it, shut down or dying, until it has torn it down; until
   * then that listing is this stopped domain, not a guest that runs.
   */
  stoppedId?: number | undefined;
}

export class ModelState {
  readonly records = new Map<string, Record>();
  readonly locks = new KeyedMutex();
  /** Shared by calls that change one guest's route, exclusive for the reconcile of them all. */
  readonly gate = new Gate();

  constructor(
    readonly deps: ManagerDeps,
    readonly events: EventEmitter<ManagerEvents>,
  ) {}

  get log(): Logger {
    return this.deps.log;
  }

  /** The record of `name`, or one made from its lease (not kept); undefined without a lease. */
  read(name: string): Record | undefined {
    const r = this.records.get(name);
    if (r) return r;
    const lease = this.deps.allocator.get(name);
    return lease && this.fromLease(lease);
  }

  /** read(), keeping a record made from the lease. */
  record(name: string): Record | undefined {
    const r = this.read(name);
    if (r && !this.records.has(name)) this.records.set(name, r);
    return r;
  }

  /** The kept record of a ready domain, or NoSuchDomainError. */
  known(name: string): Record {
    const r = this.record(name);
    if (!r || r.phase !== 'ready') throw new NoSuchDomainError(name);
    return r;
  }

  /** A domain as its lease says; only a domain with no record can be read this way, so it is not running. */
  fromLease(lease: Lease, attrs = decodeAttrs(lease.attrs)): Record {
    return {
      name: lease.name,
      lease: { address: lease.address, mac: lease.mac, acquiredAt: lease.acquiredAt },
      settings: attrs?.settings ?? this.orphanSettings(),
      phase: attrs?.phase ?? 'ready',
      domainId: -1,
      state: 'stopped',
      generation: 0,
    };
  }

  /** Sets what runs; a ready domain's visible change is announced as domainChanged. */
  update(rec: Record, change: { domainId: number; state: DomainState }): void {
    const before = view(rec);
    rec.domainId = change.domainId;
    rec.state = change.state;
    const diff: RuntimeChange = {};
    if (before.domainId !== change.domainId) diff.domainId = change.domainId;
    if (before.state !== change.state) diff.state = change.state;
    if (before.vif !== vifOf(change.domainId)) diff.vif = vifOf(change.domainId);
    if (rec.phase === 'ready' && Object.keys(diff).length > 0) this.events.emit('domainChanged', view(rec), diff);
  }

  setPhase(rec: Record, phase: Phase): void {
    this.storePhase(rec, phase);
    rec.phase = phase;
  }

  /** Writes the phase to the lease, durably; the record's own phase is the caller's to change. */
  storePhase(rec: Record, phase: Phase): void {
    this.deps.allocator.setAttrs(rec.name, encodeAttrs({ v: 1, phase, settings: rec.settings }));
  }

  /** Takes the route to rec's running guest off its vif. */
  async routeDown(rec: Record): Promise<void> {
    await this.gate.shared(async () => {
      if (rec.domainId >= 0) await this.deps.routes.down({ vif: vifOf(rec.domainId), address: rec.lease.address });
    });
  }

  /** Makes the kernel's routes those of the guests the records say run. */
  async reconcileRoutes(): Promise<void> {
    await this.gate.exclusive(async () => {
      const running: VifRoute[] = [];
      for (const r of this.records.values()) if (r.domainId >= 0) running.push({ vif: vifOf(r.domainId), address: r.lease.address });
      const changes = await this.deps.routes.reconcile(running);
      for (const c of changes) this.log.info({ change: c }, 'route reconciled');
    });
  }

  /**
   * Forgets a domain whose guest is gone: its config, its record and its
   * lease (returned, if it was still there). Every path that ends a domain,
   * a destroy or a creation rolled back, ends here.
   */
  async forget(rec: Record): Promise<Lease | undefined> {
    await rm(configPath(this.deps.configDir, rec.name), { force: true });
    // The guest's copy of its image is the domain's, and goes with it.
    if (rec.settings.image !== undefined) this.deps.disks?.removeDisk(rec.name);
    this.records.delete(rec.name);
    return this.deps.allocator.release(rec.name);
  }

  private orphanSettings(): DomainSettings {
    const d = this.deps.defaults;
    return { memory: d.memory, vcpus: d.vcpus, kernel: d.kernel, ramdisk: d.ramdisk, extra: '', root: '', disks: [] };
  }
}

/** Where writeGuestConfig puts a domain's config (src/xm's naming). */
export function configPath(dir: string, name: string): string {
  return `${dir}/${name}.cfg`;
}

export function view(r: Record): Domain {
  return {
    name: r.name,
    address: r.lease.address,
    mac: r.lease.mac,
    createdAt: r.lease.acquiredAt,
    settings: r.settings,
    domainId: r.domainId,
    state: r.state,
    vif: vifOf(r.domainId),
  };
}

/**
 * What the toolstack's listing of a domain means for rec: a guest that
 * still shows, shut down or dying, after domud's waited shutdown saw it
 * stop is stopped (Xen lists it until it has torn it down).
 */
export function seen(rec: Record, id: number, state: DomainState): { domainId: number; state: DomainState } {
  if (id >= 0 && id === rec.stoppedId && (state === 'shutdown' || state === 'dying')) return { domainId: -1, state: 'stopped' };
  return { domainId: id, state: id >= 0 ? state : 'stopped' };
}
