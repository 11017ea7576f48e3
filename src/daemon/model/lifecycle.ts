// The lifecycle verbs, create, start, shutdown and destroy, each all or
// nothing over the allocator (addresses), the toolstack (guests), the
// routes (vifs) and, for a guest made from an image, its copy of it. Each
// runs under its domain's lock (manager.ts takes it); a create or start
// that fails is undone by rollBack(), the one rollback.
import { checkHostname, checkSize } from '../../image/index.js';
import type { VifRoute } from '../../net/index.js';
import { ConfigValueError, DomainNotFoundError, renderGuestConfig, writeGuestConfig, type GuestSpec } from '../../xm/index.js';
import { type Domain, type DomainSettings, encodeAttrs, vifOf } from './domain.js';
import { AlreadyRunningError, DomainExistsError, InvalidArgumentError, InvalidNameError, NotRunningError } from './errors.js';
import { GuestIds, type IdSource } from './guest-id.js';
import { checkName, randomXenMac } from './names.js';
import { type CheckedOptions, type CreateOptions, checkOptions } from './options.js';
import { type ModelState, type Record, view } from './state.js';

export interface ShutdownOptions {
  wait?: boolean;
  timeoutSeconds?: number;
}

/** What a boot has done so far: what a rollback must undo, and what the log line says. */
interface Progress {
  /** The toolstack made the guest: a rollback destroys it. */
  created: boolean;
  /** The route being put on the guest's vif: a rollback takes it off. */
  route?: VifRoute;
  /** Time spent waiting for the toolstack's processes, in ms. */
  toolstackMs: number;
  /** Where the guest's id came from. */
  idFrom?: IdSource;
  /** How long each step of the boot took, in ms: where a slow create or start spent its time. */
  steps: { [step in BootStep]?: number };
}

type BootStep = 'config' | 'toolstack' | 'store' | 'id' | 'gate' | 'route';

export class Lifecycle {
  private readonly ids: GuestIds;

  constructor(private readonly s: ModelState) {
    this.ids = new GuestIds(s.deps.routes, s.deps.toolstack);
  }

  /**
   * Checks a create's name and options before anything is leased or written
   * (and before the call waits for its lock), as far as they can be checked
   * without the allocator.
   */
  prepare(name: string, options: CreateOptions): CheckedOptions {
    checkName(name);
    const checked = checkOptions(options, this.s.deps.defaults);
    if (checked.settings.image !== undefined) this.checkImage(name, checked);
    // Render once with a stand-in address, so that a value the config file
    // cannot carry is refused here.
    try {
      renderGuestConfig(this.guestSpec(name, checked.settings, this.s.deps.allocator.pool.dom0, checked.mac ?? '00:16:3e:00:00:01'));
    } catch (e) {
      // A name of digits only would be read by xm and xl as a domain id.
      if (e instanceof ConfigValueError && e.field === 'name') throw new InvalidNameError(`Invalid domain name "${name}": ${e.message}`);
      throw e;
    }
    return checked;
  }

  async create(name: string, checked: CheckedOptions): Promise<Domain> {
    const { allocator, log } = this.s.deps;
    const began = performance.now();
    if (this.s.records.has(name) || allocator.get(name)) throw new DomainExistsError(name);
    const mac = checked.mac ?? this.freshMac();
    // Not fsynced: a guest created from this lease cannot outlive a power
    // cut either, and the durable 'ready' mark that boot() writes once the
    // guest exists syncs it with itself. A dead daemon's page cache still
    // holds it, for the restart to settle.
    const lease = allocator.allocate(name, mac, {
      address: checked.address,
      attrs: encodeAttrs({ v: 1, phase: 'creating', settings: checked.settings }),
      durable: false,
    });
    const rec: Record = { name, lease, settings: checked.settings, phase: 'creating', domainId: -1, state: 'stopped', generation: 0 };
    this.s.records.set(name, rec);
    const progress: Progress = { created: false, toolstackMs: 0, steps: {} };
    try {
      if (checked.settings.image !== undefined) await this.copyImage(rec, checked.settings.image, checked.disk);
      await this.boot(rec, progress);
    } catch (e) {
      // abandonCreation's forget() removes the guest's copy of its image too.
      log.warn({ domain: name, address: lease.address, err: e }, 'create failed; rolling back');
      await this.abandonCreation(rec, progress);
      throw e;
    }
    // Seen by readers only now, with its guest and its route in place.
    rec.phase = 'ready';
    log.info({ domain: name, address: lease.address, domid: rec.domainId, vif: vifOf(rec.domainId), ...timing(began, progress) }, 'domain created');
    const d = view(rec);
    this.s.events.emit('domainNew', d);
    this.s.events.emit('leaseAcquired', lease.address, name);
    this.s.events.emit('leasesInUse', allocator.inUse());
    return d;
  }

  async start(name: string): Promise<void> {
    const rec = this.s.known(name);
    if (rec.domainId >= 0) await this.refresh(rec);
    if (rec.domainId >= 0) throw new AlreadyRunningError(name);
    const began = performance.now();
    const progress: Progress = { created: false, toolstackMs: 0, steps: {} };
    try {
      await this.boot(rec, progress);
    } catch (e) {
      this.s.log.warn({ domain: name, err: e }, 'start failed; rolling back');
      await this.rollBack(rec, progress);
      this.s.update(rec, { domainId: -1, state: 'stopped' });
      throw e;
    }
    this.s.log.info({ domain: name, address: rec.lease.address, domid: rec.domainId, ...timing(began, progress) }, 'domain started');
  }

  async shutdown(name: string, opts: ShutdownOptions): Promise<void> {
    const rec = this.s.known(name);
    if (rec.domainId < 0) await this.refresh(rec);
    if (rec.domainId < 0) throw new NotRunningError(name);
    const timeoutMs = opts.timeoutSeconds === undefined ? undefined : opts.timeoutSeconds * 1000;
    await this.s.deps.toolstack.shutdown(name, { wait: opts.wait === true, timeoutMs });
    if (!opts.wait) {
      this.s.log.info({ domain: name }, 'shutdown requested');
      return;
    }
    await this.s.routeDown(rec);
    rec.stoppedId = rec.domainId;
    this.s.update(rec, { domainId: -1, state: 'stopped' });
    this.s.log.info({ domain: name }, 'domain shut down');
  }

  async destroy(name: string): Promise<void> {
    const rec = this.s.known(name);
    this.s.setPhase(rec, 'destroying');
    try {
      await this.finishDestroy(rec);
    } catch (e) {
      // Still known, so that the caller can look and try again.
      if (this.s.records.has(name)) this.s.setPhase(rec, 'ready');
      throw e;
    }
  }

  /** The guest, its route and then the domain go; `announce` is false for a destroy a dead daemon began. */
  async finishDestroy(rec: Record, announce = true): Promise<void> {
    await this.s.deps.toolstack.destroy(rec.name);
    await this.s.routeDown(rec);
    const lease = await this.s.forget(rec);
    this.s.log.info({ domain: rec.name, address: rec.lease.address }, 'domain destroyed');
    if (announce) {
      this.s.events.emit('domainRemoved', rec.name);
      if (lease) this.s.events.emit('leaseReleased', lease.address, rec.name);
      this.s.events.emit('leasesInUse', this.s.deps.allocator.inUse());
    }
  }

  /**
   * Undoes a creation: what its boot did, then the domain. With no progress
   * to go by (a dead daemon's creation), the guest is destroyed in case the
   * create finished after all.
   */
  async abandonCreation(rec: Record, progress: Progress = { created: true, toolstackMs: 0, steps: {} }): Promise<void> {
    await this.rollBack(rec, progress);
    await this.s.forget(rec);
  }

  /**
   * Config, create, id, route: what create and start share. The config is
   * written anew every time, so a copy lost to a power cut costs nothing: no
   * fsync on the way to the toolstack.
   */
  private async boot(rec: Record, progress: Progress): Promise<void> {
    const { toolstack, routes, configDir } = this.s.deps;
    const watch = this.ids.open();
    let last = performance.now();
    const done = (step: BootStep) => {
      const now = performance.now();
      progress.steps[step] = Math.round((now - last) * 100) / 100;
      last = now;
    };
    try {
      const path = await writeGuestConfig(configDir, this.guestSpec(rec.name, rec.settings, rec.lease.address, rec.lease.mac), { durable: false });
      done('config');
      await timed(progress, () => toolstack.create(path, { name: rec.name }));
      progress.created = true;
      done('toolstack');
      // A creation's lease is a domain's from the moment its guest exists,
      // durably: a restart after a crash keeps it rather than rolling it back.
      if (rec.phase === 'creating') this.s.storePhase(rec, 'ready');
      done('store');
      const { id, via } = await watch.idOf(rec.name, (call) => timed(progress, call));
      progress.idFrom = via;
      done('id');
      const route = { vif: vifOf(id), address: rec.lease.address };
      progress.route = route;
      // The id is recorded before the gate is let go: a reconcile of the
      // routes must never see this route without the record that wants it.
      await this.s.gate.shared(async () => {
        done('gate'); // a reconcile of the routes in flight is waited for
        await routes.up(route);
        this.s.update(rec, { domainId: id, state: 'running' });
      });
      done('route');
    } finally {
      watch.close();
    }
  }

  /**
   * Undoes what boot did. The guest is destroyed only if our create
   * succeeded: a create refused because a domain of that name already runs
   * must never take that other domain down.
   */
  private async rollBack(rec: Record, progress: Progress): Promise<void> {
    const log = this.s.log.child({ domain: rec.name });
    if (progress.created) {
      try {
        await this.s.deps.toolstack.destroy(rec.name);
      } catch (e) {
        log.error({ err: e }, 'rollback: destroy failed');
      }
    }
    const route = progress.route;
    if (route === undefined) return;
    try {
      // On a vif that went with its guest there is nothing to do; on one that
      // stays (its destroy failed), our route goes. If this fails, the
      // reconcile loop removes the route, which no record wants.
      await this.s.gate.shared(() => this.s.deps.routes.down(route));
    } catch (e) {
      log.error({ err: e }, 'rollback: removing the route failed');
    }
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
      id = await this.s.deps.toolstack.domid(rec.name);
    } catch (e) {
      if (!(e instanceof DomainNotFoundError)) throw e;
      id = -1;
    }
    if (id === rec.stoppedId) id = -1; // still listed while Xen tears it down
    if (id === rec.domainId) return;
    this.s.log.info({ domain: rec.name, domid: id, was: rec.domainId }, 'the toolstack disagrees with what domud knew; taking its word');
    if (id < 0) await this.s.routeDown(rec);
    this.s.update(rec, { domainId: id, state: id < 0 ? 'stopped' : rec.domainId < 0 ? 'running' : rec.state });
  }

  /** What can be known of an image guest before anything is leased: the image is ready, the disk big enough, the name a host name. */
  private checkImage(name: string, checked: CheckedOptions): void {
    const disks = this.s.deps.disks;
    if (disks === undefined) throw new InvalidArgumentError('Option "image": this domud has no image directory');
    let size: number;
    try {
      ({ size } = disks.source(checked.settings.image!));
    } catch (e) {
      // A bad image name is a bad option here, not a bad domain name.
      if (e instanceof InvalidNameError) throw new InvalidArgumentError(`Option "image": ${e.message}`);
      throw e;
    }
    if (checked.disk?.diskSize !== undefined) checkSize('disk_size', checked.disk.diskSize, size);
    // The name becomes the guest's /etc/hostname: one RFC 1123 label.
    try {
      checkHostname(name);
    } catch (e) {
      throw new InvalidArgumentError(`A domain made from an image is named as its host, and ${(e as Error).message}`);
    }
  }

  /** The guest's own copy of the image, with its hostname, its address, dom0 as gateway and root's key written in. */
  private async copyImage(rec: Record, image: string, disk: CheckedOptions['disk']): Promise<void> {
    const pool = this.s.deps.allocator.pool;
    const began = performance.now();
    await this.s.deps.disks!.clone(image, {
      domain: rec.name,
      diskSize: disk?.diskSize,
      sshKey: disk?.sshKey,
      hostname: rec.name,
      address: rec.lease.address,
      prefix: pool.prefix,
      gateway: pool.dom0,
    });
    this.s.log.info({ domain: rec.name, image, ms: Math.round(performance.now() - began) }, 'guest disk copied from its image');
  }

  private freshMac(): string {
    for (;;) {
      const mac = randomXenMac();
      if (!this.s.deps.allocator.macInUse(mac)) return mac;
    }
  }

  private guestSpec(name: string, s: DomainSettings, address: string, mac: string): GuestSpec {
    const pool = this.s.deps.allocator.pool;
    // The guest learns its address from the kernel's ip= parameter; the
    // gateway must be on-link for the kernel, hence the range's netmask.
    const ip = `ip=${address}::${pool.dom0}:${pool.netmask}:${name}:eth0:off`;
    const common = { name, memory: s.memory, vcpus: s.vcpus, disks: [...s.disks], vif: { mac, ip: address, script: 'vif-route' } };
    if (s.image !== undefined) {
      // pygrub boots the kernel of the guest's own copy; the copy's
      // networkd file gives it its address, so no ip= is needed.
      return { ...common, extra: s.extra === '' ? undefined : s.extra, image: { path: this.s.deps.disks!.diskPath(name), toolstack: this.s.deps.toolstack.kind } };
    }
    return {
      ...common,
      kernel: s.kernel,
      ramdisk: s.ramdisk === '' ? undefined : s.ramdisk,
      root: s.root === '' ? undefined : s.root,
      extra: s.extra === '' ? ip : `${s.extra} ${ip}`,
    };
  }
}

/**
 * Runs a toolstack call and adds its time, from before the call (so the
 * spawn counts) to when it settles, to progress.toolstackMs.
 */
function timed<T>(progress: Progress, call: () => Promise<T>): Promise<T> {
  const t = performance.now();
  return call().finally(() => {
    progress.toolstackMs += performance.now() - t;
  });
}

/** How long a create or start took (from its turn to run), how much of that the toolstack's processes took, in ms, and where the id came from. */
function timing(began: number, progress: Progress): { ms: number; toolstackMs: number; idFrom: IdSource | undefined; steps: Progress['steps'] } {
  const round = (v: number) => Math.round(v * 100) / 100;
  return { ms: round(performance.now() - began), toolstackMs: round(progress.toolstackMs), idFrom: progress.idFrom, steps: progress.steps };
}
