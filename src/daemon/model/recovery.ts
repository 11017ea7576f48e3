// Start-up recovery: what a dead daemon left half done is finished or rolled
// back, and the guests that run are adopted. Creations and destroys in
// progress left their phase in their lease's attrs; settlePending() also
// runs in every reconcile round, for creations too young to judge at start-up.
import type { DomainInfo } from '../../xm/index.js';
import { removeStaleTemporaries } from '../../xm/index.js';
import { PHASE_KEY, type Phase } from './domain.js';
import type { Lifecycle } from './lifecycle.js';
import type { ModelState } from './state.js';

/**
 * Called once before the bus name is owned; `firstList` is the toolstack's
 * `list` if the caller started it. Other leases are not read: they are
 * ready, stopped domains.
 */
export async function load(s: ModelState, lifecycle: Lifecycle, firstList?: Promise<DomainInfo[]>): Promise<void> {
  // The toolstack's list, a process of its own, runs while the leases are read.
  const listing = (firstList ?? s.deps.toolstack.list()).then(
    (running) => ({ running }),
    (error: unknown) => ({ error }),
  );
  // A daemon killed in the middle of writing a guest config leaves its
  // temporary file; no writer runs yet, so every one is stale.
  for (const f of await removeStaleTemporaries(s.deps.configDir)) s.log.info({ file: f }, 'removed a half-written guest config');
  // An index seek each: see the allocator's indexedAttrs.
  for (const phase of ['creating', 'destroying'] satisfies Phase[]) {
    for (const lease of s.deps.allocator.withAttr(PHASE_KEY, phase)) s.records.set(lease.name, s.fromLease(lease));
  }
  const listed = await listing;
  if ('error' in listed) {
    // Without the toolstack's word nothing can be judged stopped: keep
    // every lease and route as it is and let the reconcile loop catch up.
    s.log.error({ err: listed.error }, 'cannot list domains at start-up; leaving routes alone until the toolstack answers');
    return;
  }
  const byName = new Map(listed.running.map((d) => [d.name, d]));
  for (const info of listed.running) {
    if (info.id === null) continue;
    const rec = s.record(info.name); // a guest without a lease is not domud's
    if (rec) {
      rec.domainId = info.id;
      rec.state = info.state;
    }
  }
  await settlePending(s, lifecycle, byName);
  await s.reconcileRoutes();
}

/**
 * Finishes or rolls back what a dead daemon left half done: a creation
 * whose guest runs is adopted, one whose guest does not is undone; an
 * interrupted destroy is completed.
 */
export async function settlePending(s: ModelState, lifecycle: Lifecycle, byName: Map<string, DomainInfo>): Promise<void> {
  for (const rec of [...s.records.values()]) {
    if (rec.phase === 'ready' || s.locks.isBusy(rec.name)) continue;
    const info = byName.get(rec.name);
    const log = s.log.child({ domain: rec.name, address: rec.lease.address });
    if (rec.phase === 'creating' && info && info.id !== null) {
      log.info('adopting a domain whose creation was interrupted');
      rec.domainId = info.id;
      rec.state = info.state;
      s.setPhase(rec, 'ready');
    } else if (rec.phase === 'creating') {
      // Rolling back while the dead daemon's create may still finish would
      // free an address that a guest is about to use: wait it out.
      const ageMs = Date.now() - rec.lease.acquiredAt / 1000;
      if (ageMs < s.deps.createGraceMs) {
        log.debug({ waitMs: Math.ceil(s.deps.createGraceMs - ageMs) }, 'an interrupted creation may still finish; deciding later');
        continue;
      }
      // A create that finished after its guest was listed must not leave a guest behind.
      await lifecycle.abandonCreation(rec);
      log.info('rolled back a creation that was interrupted');
    } else {
      log.info('finishing a destroy that was interrupted');
      await lifecycle.finishDestroy(rec, false);
    }
  }
}
