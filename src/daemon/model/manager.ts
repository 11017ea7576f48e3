// The domain model: every lifecycle verb, all or nothing, over the allocator
// (addresses), the toolstack (guests) and the routes (vifs). Nothing here
// knows D-Bus; the bus layer listens to this class's events and calls its
// methods.
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Allocator, Lease, Pool } from '../../ipam/index.js';
import type { VifRoute, Routes } from '../../net/index.js';
import { ConfigValueError, DomainNotFoundError, removeStaleTemporaries, renderGuestConfig, writeGuestConfig, type DomainInfo, type GuestSpec, type Toolstack } from '../../xm/index.js';
import { settleWithin } from '../deadline.js';
import {
  type Domain,
  type DomainSettings,
  type DomainState,
  type Phase,
  type RuntimeChange,
  type StoredAttrs,
  PHASE_KEY,
  decodeAttrs,
  encodeAttrs,
  vifOf,
} from './domain.js';
import {
  AlreadyRunningError,
  DomainExistsError,
  InvalidNameError,
  NoSuchDomainError,
  NotRunningError,
  ShuttingDownError,
} from './errors.js';
import { Gate, KeyedMutex } from './mutex.js';
import { checkName, randomXenMac } from './names.js';
import { type CreateOptions, type Defaults, checkOptions } from './options.js';

/** What ListDomains needs of a domain: no settings, so none are decoded. */
export type DomainSummary = Pick<Domain, 'name' | 'address' | 'domainId' | 'state'>;

export interface ManagerEvents {
  domainNew: [domain: Domain];
  domainRemoved: [name: string];
  leaseAcquired: [address: string, name: string];
  leaseReleased: [address: string, name: string];
  domainChanged: [domain: Domain, change: RuntimeChange];
  leasesInUse: [count: number];
}

export interface ManagerDeps {
  readonly allocator: Allocator;
  readonly toolstack: Toolstack;
  readonly routes: Routes;
  readonly defaults: Defaults;
  readonly configDir: string; // where guest configs are written
  readonly log: Logger;
  /**
   * How long a toolstack create can still be running after the daemon that
   * started it died (its own timeout and kill grace): the toolstack runs in
   * its own process group, so a SIGKILLed daemon's `xl create` goes on.
   */
  readonly createGraceMs: number;
}

/** What a record keeps of its lease: the stored attrs are decoded into the record's own fields. */
type Held = Pick<Lease, 'address' | 'mac' | 'acquiredAt'>;

interface Record {
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
   * The vif a call is bringing up before the toolstack's exit has confirmed
   * the domain's id: its route counts as wanted, and a rollback removes it.
   */
  pendingRoute?: VifRoute | undefined;
}

interface Progress {
  created: boolean;
  /** Time spent waiting for the toolstack's processes, in ms: what boot() logs beside its own. */
  toolstackMs: number;
}

export interface ShutdownOptions {
  wait?: boolean;
  timeoutSeconds?: number;
}

/**
 * The allocator holds every domain: a lease is a domain. Records in memory
 * are kept only for domains that run, that a call is creating or destroying,
 * or that a call has touched since the last reconcile round; a domain
 * without one is ready and stopped, and is read from its lease when asked
 * for. So start-up reads the guests that run and the calls left half done,
 * not every lease, the way machined finds a machine's object only when a
 * path is asked for.
 */
export class DomainManager extends EventEmitter<ManagerEvents> {
  private readonly records = new Map<string, Record>();
  private readonly locks = new KeyedMutex();
  private readonly gate = new Gate();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing = false;

  constructor(private readonly deps: ManagerDeps) {
    super();
  }

  get pool(): Pool {
    return this.deps.allocator.pool;
  }

  // ---- reads: never wait for a toolstack call ----

  /** Every domain, in address order. */
  list(): Domain[] {
    // Domains created with the same options store the same attrs: decode
    // each text once and share the (read-only) result.
    const decoded = new Map<string, StoredAttrs | null>();
    const out: Domain[] = [];
    for (const lease of this.deps.allocator.list()) {
      let r = this.records.get(lease.name);
      if (!r) {
        let attrs = decoded.get(lease.attrs);
        if (attrs === undefined) decoded.set(lease.attrs, (attrs = decodeAttrs(lease.attrs)));
        r = this.fromLease(lease, attrs);
      }
      if (r.phase === 'ready') out.push(view(r));
    }
    return out;
  }

  /** list() without the settings, which are neither read nor decoded. */
  summaries(): DomainSummary[] {
    const out: DomainSummary[] = [];
    for (const { address, name } of this.deps.allocator.holders()) {
      const r = this.records.get(name);
      if (!r) out.push({ name, address, domainId: -1, state: 'stopped' });
      else if (r.phase === 'ready') out.push({ name, address, domainId: r.domainId, state: r.state });
    }
    return out;
  }

  /** How many domains list() would give, without building them. */
  count(): number {
    let busy = 0;
    for (const r of this.records.values()) if (r.phase !== 'ready') busy++;
    return this.deps.allocator.inUse() - busy;
  }

  get(name: string): Domain {
    const d = this.find(name);
    if (!d) throw new NoSuchDomainError(name);
    return d;
  }

  /**
   * Throws NoSuchDomainError unless `name` is a domain: get() for callers
   * that need no more than that (GetDomain), without reading a stopped
   * domain's lease. A lease without a record is a ready domain: start-up
   * gives every other phase a record, and calls change phases through one.
   */
  assertKnown(name: string): void {
    const r = this.records.get(name);
    if (r ? r.phase !== 'ready' : !this.deps.allocator.has(name)) throw new NoSuchDomainError(name);
  }

  find(name: string): Domain | undefined {
    // A read keeps nothing in memory: the lease is read again next time.
    const r = this.read(name);
    return r && r.phase === 'ready' ? view(r) : undefined;
  }

  leases(): Lease[] {
    return this.deps.allocator.list();
  }

  leasesInUse(): number {
    return this.deps.allocator.inUse();
  }

  // ---- lifecycle ----

  create(name: string, options: CreateOptions): Promise<Domain> {
    checkName(name);
    const checked = checkOptions(options, this.deps.defaults);
    // Render once with a stand-in address so that a value the config file
    // cannot carry is refused before anything is leased or written.
    try {
      renderGuestConfig(this.guestSpec(name, checked.settings, this.pool.dom0, checked.mac ?? '00:16:3e:00:00:01'));
    } catch (e) {
      // A name of digits only would be read by xm and xl as a domain id.
      if (e instanceof ConfigValueError && e.field === 'name') throw new InvalidNameError(`Invalid domain name "${name}": ${e.message}`);
      throw e;
    }
    return this.call(name, async () => {
      const began = performance.now();
      if (this.records.has(name) || this.deps.allocator.get(name)) throw new DomainExistsError(name);
      const mac = checked.mac ?? this.freshMac();
      // Not fsynced: a guest created from this lease cannot outlive a power
      // cut either, and the durable 'ready' mark below syncs it with itself.
      // A dead daemon's page cache still holds it, for the restart to settle.
      const lease = this.deps.allocator.allocate(name, mac, {
        address: checked.address,
        attrs: encodeAttrs({ v: 1, phase: 'creating', settings: checked.settings }),
        durable: false,
      });
      const rec: Record = { name, lease, settings: checked.settings, phase: 'creating', domainId: -1, state: 'stopped', generation: 0 };
      this.records.set(name, rec);
      const progress: Progress = { created: false, toolstackMs: 0 };
      try {
        // Once the toolstack has made the guest, the lease is marked 'ready'
        // (a domain, for crash recovery) and made durable while the toolstack
        // looks up its id, so the fsync costs the caller nothing. The record
        // stays 'creating', unseen by readers, until the route is there too;
        // a later step that fails is rolled back like any other, lease and all.
        await this.boot(rec, progress, () => this.storePhase(rec, 'ready'));
      } catch (e) {
        this.deps.log.warn({ domain: name, address: lease.address, err: e }, 'create failed; rolling back');
        await this.teardown(rec, progress);
        await this.removeConfig(rec);
        this.records.delete(name);
        this.deps.allocator.release(name);
        throw e;
      }
      rec.phase = 'ready';
      this.logAfterReply({ domain: name, address: lease.address, domid: rec.domainId, vif: vifOf(rec.domainId), ...timing(began, progress) }, 'domain created');
      const d = view(rec);
      this.emit('domainNew', d);
      this.emit('leaseAcquired', lease.address, name);
      this.emit('leasesInUse', this.leasesInUse());
      return d;
    });
  }

  start(name: string): Promise<void> {
    return this.call(name, async () => {
      const rec = this.known(name);
      if (rec.domainId >= 0) await this.refresh(rec);
      if (rec.domainId >= 0) throw new AlreadyRunningError(name);
      const began = performance.now();
      const progress: Progress = { created: false, toolstackMs: 0 };
      try {
        await this.boot(rec, progress);
      } catch (e) {
        this.deps.log.warn({ domain: name, err: e }, 'start failed; rolling back');
        await this.teardown(rec, progress);
        this.update(rec, { domainId: -1, state: 'stopped' });
        throw e;
      }
      this.logAfterReply({ domain: name, address: rec.lease.address, domid: rec.domainId, ...timing(began, progress) }, 'domain started');
    });
  }

  shutdown(name: string, opts: ShutdownOptions): Promise<void> {
    return this.call(name, async () => {
      const rec = this.known(name);
      if (rec.domainId < 0) await this.refresh(rec);
      if (rec.domainId < 0) throw new NotRunningError(name);
      const timeoutMs = opts.timeoutSeconds === undefined ? undefined : opts.timeoutSeconds * 1000;
      await this.deps.toolstack.shutdown(name, { wait: opts.wait === true, timeoutMs });
      if (opts.wait) {
        await this.routeDown(rec);
        this.update(rec, { domainId: -1, state: 'stopped' });
        this.deps.log.info({ domain: name }, 'domain shut down');
      } else {
        this.deps.log.info({ domain: name }, 'shutdown requested');
      }
    });
  }

  destroy(name: string): Promise<void> {
    return this.call(name, async () => {
      const rec = this.known(name);
      this.setPhase(rec, 'destroying');
      try {
        await this.finishDestroy(rec);
      } catch (e) {
        // Still known, so that the caller can look and try again.
        if (this.records.has(name)) this.setPhase(rec, 'ready');
        throw e;
      }
    });
  }

  // ---- start-up and the reconcile loop ----

  /**
   * Finds what a dead daemon left half done and finishes or rolls it back,
   * and adopts the guests that run. Called once before the bus name is
   * owned; `firstList` is the toolstack's `list` if the caller started it.
   * Other leases are not read: they are ready, stopped domains.
   */
  async load(firstList?: Promise<DomainInfo[]>): Promise<void> {
    // The toolstack's list (begun earlier by the caller, or now), a process
    // of its own, runs while the leases are read.
    const listing = (firstList ?? this.deps.toolstack.list()).then(
      (running) => ({ running }),
      (error: unknown) => ({ error }),
    );
    // A daemon killed in the middle of writing a guest config leaves its
    // temporary file; no writer runs yet, so every one is stale.
    for (const f of await removeStaleTemporaries(this.deps.configDir)) this.deps.log.info({ file: f }, 'removed a half-written guest config');
    // Calls in progress left their phase in their lease's attrs (an index
    // seek each: see the allocator's indexedAttrs).
    for (const phase of ['creating', 'destroying'] satisfies Phase[]) {
      for (const lease of this.deps.allocator.withAttr(PHASE_KEY, phase)) this.records.set(lease.name, this.fromLease(lease));
    }
    const listed = await listing;
    if ('error' in listed) {
      // Without the toolstack's word nothing can be judged stopped: keep
      // every lease and route as it is and let the reconcile loop catch up.
      this.deps.log.error({ err: listed.error }, 'cannot list domains at start-up; leaving routes alone until the toolstack answers');
      return;
    }
    const byName = new Map(listed.running.map((d) => [d.name, d]));
    for (const info of listed.running) {
      if (info.id === null) continue;
      const rec = this.record(info.name); // a guest without a lease is not domud's
      if (rec) {
        rec.domainId = info.id;
        rec.state = info.state;
      }
    }
    await this.settlePending(byName);
    await this.reconcileRoutes();
  }

  /** One pass of the reconcile loop: the toolstack's view, then the routes. */
  async reconcile(): Promise<void> {
    if (this.closing) return;
    const before = new Map([...this.records.values()].map((r) => [r.name, r.generation]));
    const running = await this.deps.toolstack.list();
    const byName = new Map(running.map((d) => [d.name, d]));
    await this.settlePending(byName);
    // A guest that runs without a record here was started behind domud's
    // back (or by a dead daemon's last call): read its lease to adopt it.
    // A call that began during the list has made a record of its own.
    for (const info of running) {
      if (info.id === null || this.records.has(info.name) || this.locks.isBusy(info.name)) continue;
      const rec = this.record(info.name);
      if (rec) before.set(rec.name, rec.generation);
    }
    let dropped = 0;
    for (const rec of this.records.values()) {
      if (rec.phase !== 'ready' || this.locks.isBusy(rec.name) || before.get(rec.name) !== rec.generation) continue;
      const info = byName.get(rec.name);
      const id = info && info.id !== null ? info.id : -1;
      const state: DomainState = id >= 0 ? info!.state : 'stopped';
      if (id !== rec.domainId || state !== rec.state) {
        if (id < 0) this.deps.log.info({ domain: rec.name }, 'domain stopped behind domud\'s back');
        else if (rec.domainId < 0) this.deps.log.info({ domain: rec.name, domid: id }, 'domain started behind domud\'s back');
        this.update(rec, { domainId: id, state });
      }
      // A stopped domain needs no record: its lease says all there is. So
      // memory follows the guests that run, not every domain a call has
      // touched since start-up.
      if (id < 0) {
        this.records.delete(rec.name);
        dropped++;
      }
    }
    if (dropped > 0) this.deps.log.debug({ dropped, held: this.records.size }, 'records of stopped domains dropped');
    await this.reconcileRoutes();
  }

  /**
   * Finishes or rolls back what a dead daemon left half done: a creation
   * whose guest runs is adopted, one whose guest does not is undone; an
   * interrupted destroy is completed.
   */
  private async settlePending(byName: Map<string, DomainInfo>): Promise<void> {
    for (const rec of [...this.records.values()]) {
      if (rec.phase === 'ready' || this.locks.isBusy(rec.name)) continue;
      const info = byName.get(rec.name);
      const log = this.deps.log.child({ domain: rec.name, address: rec.lease.address });
      if (rec.phase === 'creating' && info && info.id !== null) {
        log.info('adopting a domain whose creation was interrupted');
        rec.domainId = info.id;
        rec.state = info.state;
        this.setPhase(rec, 'ready');
      } else if (rec.phase === 'creating') {
        // Rolling back while the dead daemon's create may still finish would
        // free an address that a guest is about to use: wait it out.
        const ageMs = Date.now() - rec.lease.acquiredAt / 1000;
        if (ageMs < this.deps.createGraceMs) {
          log.debug({ waitMs: Math.ceil(this.deps.createGraceMs - ageMs) }, 'an interrupted creation may still finish; deciding later');
          continue;
        }
        // A create that finished after its guest was listed must not leave a guest behind.
        await this.deps.toolstack.destroy(rec.name);
        await this.removeConfig(rec);
        this.records.delete(rec.name);
        this.deps.allocator.release(rec.name);
        log.info('rolled back a creation that was interrupted');
      } else {
        log.info('finishing a destroy that was interrupted');
        await this.finishDestroy(rec, false);
      }
    }
  }

  /** Stops taking calls and waits (bounded) for those in flight. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    await settleWithin(this.inFlight, graceMs);
  }

  get busy(): number {
    return this.inFlight.size;
  }

  // ---- internals ----

  private call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ShuttingDownError());
    const p = this.locks.run(name, async () => {
      const rec = this.records.get(name);
      if (rec) rec.generation++;
      try {
        return await fn();
      } finally {
        const after = this.records.get(name);
        if (after) after.generation++;
      }
    });
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private known(name: string): Record {
    const r = this.record(name);
    if (!r || r.phase !== 'ready') throw new NoSuchDomainError(name);
    return r;
  }

  /** The record of `name`, or one made from its lease (not kept); undefined without a lease. */
  private read(name: string): Record | undefined {
    const r = this.records.get(name);
    if (r) return r;
    const lease = this.deps.allocator.get(name);
    return lease && this.fromLease(lease);
  }

  /** read(), keeping a record made from the lease. */
  private record(name: string): Record | undefined {
    const r = this.read(name);
    if (r && !this.records.has(name)) this.records.set(name, r);
    return r;
  }

  /** A domain as its lease says; only a domain with no record can be read this way, so it is not running. */
  private fromLease(lease: Lease, attrs = decodeAttrs(lease.attrs)): Record {
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

  /**
   * Asks the toolstack whether the domain runs now and writes the answer into
   * its record, before a call is refused on what the record says: the record
   * can be a reconcile round old (a guest that stopped or started behind
   * domud's back, or the last call of a killed daemon finishing after the
   * start-up list). A guest found running gets its routes back on the next
   * reconcile round.
   */
  private async refresh(rec: Record): Promise<void> {
    let id: number;
    try {
      id = await this.deps.toolstack.domid(rec.name);
    } catch (e) {
      if (!(e instanceof DomainNotFoundError)) throw e;
      id = -1;
    }
    if (id === rec.domainId) return;
    this.deps.log.info({ domain: rec.name, domid: id, was: rec.domainId }, 'the toolstack disagrees with what domud knew; taking its word');
    if (id < 0) await this.routeDown(rec);
    this.update(rec, { domainId: id, state: id < 0 ? 'stopped' : rec.domainId < 0 ? 'running' : rec.state });
  }

  /**
   * Config, create, domain id, route: the part of create and start that
   * boots. `created` runs (synchronously) once the guest exists, while the
   * toolstack's process that looks up its id runs: a durable write there
   * keeps its fsync off the caller's path.
   */
  private async boot(rec: Record, progress: Progress, created?: () => void): Promise<void> {
    // Written anew before every create and start, so a copy lost to a power
    // cut costs nothing: no fsync on the way to the toolstack.
    const path = await writeGuestConfig(this.deps.configDir, this.guestSpec(rec.name, rec.settings, rec.lease.address, rec.lease.mac), { durable: false });
    await timed(progress, () => this.deps.toolstack.create(path, { name: rec.name }));
    progress.created = true;
    // The vif goes up as soon as the id is printed, while the toolstack winds
    // down (xm, in Python, exits milliseconds later), and is kept only if the
    // exit then says the lookup succeeded; else the rollback takes it down.
    let routing: Promise<void> | undefined;
    const id = timed(progress, () => this.deps.toolstack.domid(rec.name, { early: (n) => (routing = this.routeUp(rec, n)) }));
    if (created) {
      id.catch(() => undefined); // awaited below, or before the rollback
      // One turn of the event loop: the call's process has been started by
      // then (unless the toolstack's calls are at their limit, when the
      // write simply does not overlap).
      await nextTurn();
      try {
        created();
      } catch (e) {
        await id.catch(() => undefined); // so that no early id comes once the rollback has begun
        throw e;
      }
    }
    const domainId = await id;
    await (routing ?? this.routeUp(rec, domainId));
    rec.pendingRoute = undefined;
    this.update(rec, { domainId, state: 'running' });
  }

  /** Brings up domain `id`'s vif for rec, as rec's pending route until the caller confirms it. */
  private routeUp(rec: Record, id: number): Promise<void> {
    const b = { vif: vifOf(id), address: rec.lease.address };
    rec.pendingRoute = b;
    const up = this.gate.shared(() => this.deps.routes.up(b));
    up.catch(() => undefined); // the caller awaits it, unless the toolstack failed first
    return up;
  }

  /**
   * Undo what boot did. The guest is destroyed only if our create succeeded:
   * a create refused because a domain of that name already runs must never
   * take that other domain down.
   */
  private async teardown(rec: Record, progress: Progress): Promise<void> {
    const log = this.deps.log.child({ domain: rec.name });
    if (progress.created) {
      try {
        await this.deps.toolstack.destroy(rec.name);
      } catch (e) {
        log.error({ err: e }, 'rollback: destroy failed');
      }
    }
    const pending = rec.pendingRoute;
    if (pending === undefined) return;
    // No longer wanted, even if removing it fails: the reconcile loop then removes it.
    rec.pendingRoute = undefined;
    try {
      // On a vif that went with its guest, nothing to do; on any other (an
      // id printed by a toolstack that then failed), our route goes.
      await this.gate.shared(() => this.deps.routes.down(pending));
    } catch (e) {
      log.error({ err: e }, 'rollback: removing the route failed');
    }
  }

  /**
   * An info line written once the call's reply has left (replies go out in
   * the turn the call settles): a cold log write is some 0.15 ms, which the
   * caller need not wait for.
   */
  private logAfterReply(fields: object, msg: string): void {
    setImmediate(() => this.deps.log.info(fields, msg));
  }

  private async finishDestroy(rec: Record, emit = true): Promise<void> {
    await this.deps.toolstack.destroy(rec.name);
    await this.routeDown(rec);
    await this.removeConfig(rec);
    this.records.delete(rec.name);
    const lease = this.deps.allocator.release(rec.name);
    this.deps.log.info({ domain: rec.name, address: rec.lease.address }, 'domain destroyed');
    if (emit) {
      this.emit('domainRemoved', rec.name);
      if (lease) this.emit('leaseReleased', lease.address, rec.name);
      this.emit('leasesInUse', this.leasesInUse());
    }
  }

  private async routeDown(rec: Record): Promise<void> {
    await this.gate.shared(async () => {
      if (rec.domainId >= 0) await this.deps.routes.down({ vif: vifOf(rec.domainId), address: rec.lease.address });
    });
  }

  private async reconcileRoutes(): Promise<void> {
    await this.gate.exclusive(async () => {
      const running: VifRoute[] = [];
      for (const r of this.records.values()) {
        if (r.domainId >= 0) running.push({ vif: vifOf(r.domainId), address: r.lease.address });
        else if (r.pendingRoute !== undefined) running.push(r.pendingRoute);
      }
      const changes = await this.deps.routes.reconcile(running);
      for (const c of changes) this.deps.log.info({ change: c }, 'route reconciled');
    });
  }

  private async removeConfig(rec: Record): Promise<void> {
    await rm(configPath(this.deps.configDir, rec.name), { force: true });
  }

  private update(rec: Record, change: { domainId: number; state: DomainState }): void {
    const before = view(rec);
    rec.domainId = change.domainId;
    rec.state = change.state;
    const diff: RuntimeChange = {};
    if (before.domainId !== change.domainId) diff.domainId = change.domainId;
    if (before.state !== change.state) diff.state = change.state;
    if (before.vif !== vifOf(change.domainId)) diff.vif = vifOf(change.domainId);
    if (rec.phase === 'ready' && Object.keys(diff).length > 0) this.emit('domainChanged', view(rec), diff);
  }

  private setPhase(rec: Record, phase: Phase): void {
    this.storePhase(rec, phase);
    rec.phase = phase;
  }

  /** Writes the phase to the lease, durably; the record's own phase is the caller's to change. */
  private storePhase(rec: Record, phase: Phase): void {
    this.deps.allocator.setAttrs(rec.name, encodeAttrs({ v: 1, phase, settings: rec.settings }));
  }

  private freshMac(): string {
    for (;;) {
      const mac = randomXenMac();
      if (!this.deps.allocator.macInUse(mac)) return mac;
    }
  }

  private orphanSettings(): DomainSettings {
    const d = this.deps.defaults;
    return { memory: d.memory, vcpus: d.vcpus, kernel: d.kernel, ramdisk: d.ramdisk, extra: '', root: '', disks: [] };
  }

  private guestSpec(name: string, s: DomainSettings, address: string, mac: string): GuestSpec {
    const pool = this.pool;
    // The guest learns its address from the kernel's ip= parameter; the
    // gateway must be on-link for the kernel, hence the range's netmask.
    const ip = `ip=${address}::${pool.dom0}:${pool.netmask}:${name}:eth0:off`;
    return {
      name,
      memory: s.memory,
      vcpus: s.vcpus,
      kernel: s.kernel,
      ramdisk: s.ramdisk === '' ? undefined : s.ramdisk,
      root: s.root === '' ? undefined : s.root,
      extra: s.extra === '' ? ip : `${s.extra} ${ip}`,
      disks: [...s.disks],
      vif: { mac, ip: address, script: 'vif-route' },
    };
  }
}

/** Where writeGuestConfig puts a domain's config (src/xm's naming). */
export function configPath(dir: string, name: string): string {
  return `${dir}/${name}.cfg`;
}

function view(r: Record): Domain {
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
 * Runs a toolstack call and adds its time, from before the call (so the
 * spawn counts) to when it settles (not when it is awaited: what the caller
 * does meanwhile is domud's time), to progress.toolstackMs.
 */
function timed<T>(progress: Progress, call: () => Promise<T>): Promise<T> {
  const t = performance.now();
  return call().finally(() => {
    progress.toolstackMs += performance.now() - t;
  });
}

/** How long a create or start took (from its turn to run) and how much of that the toolstack's processes took, in ms. */
function timing(began: number, progress: Progress): { ms: number; toolstackMs: number } {
  const round = (v: number) => Math.round(v * 100) / 100;
  return { ms: round(performance.now() - began), toolstackMs: round(progress.toolstackMs) };
}

