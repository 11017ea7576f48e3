// The domain model behind one class: what the bus layer calls and listens
// to. Nothing here knows D-Bus. The work is done by one file per concern,
// the way machined spreads it over machine.c, machined.c and operation.c:
//   reads.ts      ListDomains, GetDomain and the like, never waiting
//   lifecycle.ts  create, start, shutdown, destroy, and their one rollback
//   guest-id.ts   how a boot learns its guest's id
//   recovery.ts   start-up: what a dead daemon left half done
//   reconcile.ts  the loop that follows the toolstack and fixes the routes
//   state.ts      the records, locks and primitives they all share
// This class adds what a call needs around them: its domain's lock, the
// generation that keeps a reconcile round from overwriting it, and the
// count of calls in flight that close() waits for.
import { EventEmitter } from 'node:events';
import type { Allocator, Lease, Pool } from '../../ipam/index.js';
import type { DomainInfo } from '../../xm/index.js';
import { settleWithin } from '../deadline.js';
import type { Domain } from './domain.js';
import { NoSuchDomainError, ShuttingDownError } from './errors.js';
import { Lifecycle, type ShutdownOptions } from './lifecycle.js';
import type { CreateOptions } from './options.js';
import * as reads from './reads.js';
import { reconcile } from './reconcile.js';
import { load } from './recovery.js';
import { type ManagerDeps, type ManagerEvents, ModelState } from './state.js';

export type { DomainSummary } from './reads.js';
export type { ShutdownOptions } from './lifecycle.js';
export { configPath, type ManagerDeps, type ManagerEvents, type RouteTable } from './state.js';

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
  private readonly s: ModelState;
  private readonly lifecycle: Lifecycle;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing = false;

  constructor(deps: ManagerDeps) {
    super();
    this.s = new ModelState(deps, this);
    this.lifecycle = new Lifecycle(this.s);
  }

  get pool(): Pool {
    return this.allocator.pool;
  }

  // ---- reads ----

  list(): Domain[] {
    return reads.list(this.s);
  }

  summaries(): reads.DomainSummary[] {
    return reads.summaries(this.s);
  }

  count(): number {
    return reads.count(this.s);
  }

  get(name: string): Domain {
    const d = reads.find(this.s, name);
    if (!d) throw new NoSuchDomainError(name);
    return d;
  }

  /** get() for callers that need no more than to know `name` is a domain (GetDomain). */
  assertKnown(name: string): void {
    reads.assertKnown(this.s, name);
  }

  find(name: string): Domain | undefined {
    return reads.find(this.s, name);
  }

  leases(): Lease[] {
    return reads.leases(this.s);
  }

  leasesInUse(): number {
    return this.allocator.inUse();
  }

  // ---- lifecycle ----

  create(name: string, options: CreateOptions): Promise<Domain> {
    const checked = this.lifecycle.prepare(name, options);
    return this.call(name, () => this.lifecycle.create(name, checked));
  }

  start(name: string): Promise<void> {
    return this.call(name, () => this.lifecycle.start(name));
  }

  shutdown(name: string, opts: ShutdownOptions): Promise<void> {
    return this.call(name, () => this.lifecycle.shutdown(name, opts));
  }

  destroy(name: string): Promise<void> {
    return this.call(name, () => this.lifecycle.destroy(name));
  }

  // ---- start-up and the reconcile loop ----

  /** Settles what a dead daemon left and adopts the guests that run; `firstList` is the toolstack's `list` if the caller started it. */
  load(firstList?: Promise<DomainInfo[]>): Promise<void> {
    return load(this.s, this.lifecycle, firstList);
  }

  /** One pass of the reconcile loop: the toolstack's view, then the routes. */
  async reconcile(): Promise<void> {
    if (this.closing) return;
    await reconcile(this.s, this.lifecycle);
  }

  /** Stops taking calls and waits (bounded) for those in flight. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    await settleWithin(this.inFlight, graceMs);
  }

  get busy(): number {
    return this.inFlight.size;
  }

  private get allocator(): Allocator {
    return this.s.deps.allocator;
  }

  /** Runs a lifecycle call under its domain's lock, counted in flight. */
  private call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ShuttingDownError());
    const p = this.s.locks.run(name, async () => {
      const rec = this.s.records.get(name);
      if (rec) rec.generation++;
      try {
        return await fn();
      } finally {
        const after = this.s.records.get(name);
        if (after) after.generation++;
      }
    });
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }
}
